// One server under test, in its own process: `node server.js <contender> [id prefix]` (herald,
// hub, hub-sqlite, hub-redis, better-sse, plain, floor: SSE; ws, ws-buffer: WebSocket).
// Driven over IPC by the benchmark (see harness.js): it reports its subscriber count and RSS,
// and publishes events carrying their publish time (process.hrtime, CLOCK_MONOTONIC, shared by
// every process on the machine) so the load client can compute publish→receive latency.
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"

const PAD = "x".repeat(64)

/** The contenders. Each broadcasts the same ~100-byte event: an id and one data line. */
const contenders = {
  async herald() {
    const { createSSE, createChannel } = await import("herald/server")
    const sse = createSSE()
    const channel = createChannel()
    return {
      onRequest: (req, res) => channel.subscribe(sse.connect(req, res)),
      publish: (id, data) => channel.publish({ id, data }),
      // Events that arrive together go out as one write per subscriber.
      publishBatch: (events) => channel.publishBatch(events),
      count: () => channel.size,
    }
  },
  /**
   * The hub on the memory engine (anonymous subscribers on `match=bench`): each event is
   * appended to the hub's log in-process — the HTTP publish path is measured by
   * hub-ingest.bench.js — and goes through the hub's dispatch (resume follower, topic matching,
   * private check) to every subscriber.
   */
  hub: () =>
    hubContender(async () => {
      const engine = (await import("../../dist/engine/index.js")).createMemoryEngine()
      return { engine, close: () => engine.close() }
    }),
  /** The hub on the sqlite engine (WAL, `synchronous = NORMAL`), its database in a temp dir. */
  "hub-sqlite": () =>
    hubContender(async () => {
      const { createSqliteEngine } = await import("../../dist/engine/index.js")
      const dir = mkdtempSync(join(tmpdir(), "herald-bench-fanout-"))
      const engine = createSqliteEngine({ path: join(dir, "bench.db") })
      const close = async () => {
        await engine.close()
        rmSync(dir, { recursive: true, force: true })
      }
      return { engine, close }
    }),
  /**
   * The hub on the redis engine: HERALD_BENCH_REDIS_URL (default 127.0.0.1:6379), under the key
   * prefix HERALD_BENCH_REDIS_PREFIX when several nodes share one hub (the bench that set it
   * deletes the keys), else a prefix of its own, whose log it deletes on exit.
   */
  "hub-redis": () =>
    hubContender(async () => {
      const { createRedisEngine } = await import("../../dist/engine/redis.js")
      const shared = process.env.HERALD_BENCH_REDIS_PREFIX
      const engine = createRedisEngine({
        url: process.env.HERALD_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379",
        keyPrefix: shared ?? `herald-bench-fanout-${process.pid}`,
      })
      const close = async () => {
        if (shared === undefined) await engine.delete("mercure")
        await engine.close()
      }
      return { engine, close }
    }),
  async "better-sse"() {
    const { createSession, createChannel } = await import("better-sse")
    const channel = createChannel()
    // An identity serializer, so better-sse does not pay for JSON.stringify (Herald takes strings too).
    const options = { serializer: (data) => data }
    return {
      onRequest: (req, res) => {
        createSession(req, res, options).then(
          (session) => channel.register(session),
          () => res.destroy(),
        )
      },
      publish: (id, data) => channel.broadcast(data, "message", { eventId: id }),
      count: () => channel.sessionCount,
    }
  },
  async plain() {
    const responses = new Set()
    const headers = {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
    }
    return {
      onRequest: (_req, res) => {
        res.writeHead(200, headers)
        res.write(": \n\n")
        responses.add(res)
        res.on("close", () => responses.delete(res))
      },
      publish: (id, data) => {
        const frame = `id: ${id}\ndata: ${data}\n\n`
        for (const res of responses) res.write(frame)
      },
      count: () => responses.size,
    }
  },
}

/**
 * The floor: the least a Node process can do per delivery through public APIs — one
 * `socket.write` of ready-made chunked bytes (size line, frame, CRLF), built once per event, to
 * every subscriber's socket. No SSE library, no queue, no bookkeeping: what is left is Node's
 * stream write and the kernel's send. Only in the fan-out table, to show where the ceiling is.
 */
contenders.floor = async () => {
  const sockets = new Set()
  const headers = {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
  }
  const chunkOf = (frames) => Buffer.from(`${Buffer.byteLength(frames).toString(16)}\r\n${frames}\r\n`)
  const writeToAll = (chunk) => {
    for (const socket of sockets) socket.write(chunk)
  }
  return {
    onRequest: (_req, res) => {
      res.writeHead(200, headers)
      res.write(": \n\n")
      const socket = res.socket
      sockets.add(socket)
      res.on("close", () => sockets.delete(socket))
    },
    publish: (id, data) => writeToAll(chunkOf(`id: ${id}\ndata: ${data}\n\n`)),
    // Events that arrive together: one chunk, one write per socket.
    publishBatch: (events) =>
      writeToAll(chunkOf(events.map(({ id, data }) => `id: ${id}\ndata: ${data}\n\n`).join(""))),
    count: () => sockets.size,
  }
}

/**
 * `ws` broadcasting the way its README shows: for each client, if OPEN, `send`. A message is the
 * event's data string alone, the same bytes as the SSE `data:` line (WebSocket has no `id:`; the
 * sequence number inside the data plays that part). ws writes each message at once (cork,
 * header + payload, uncork): one system call per message per client.
 *
 * - `ws`: the data string as is; ws measures and encodes it again for every client.
 * - `ws-buffer`: what a ws user tuning for fan-out would write: one Buffer per event, sent to
 *   every client as a text frame, and events that arrive together (the open loop) joined by LF
 *   into one message, Herald's `publishBatch` done by hand. A frame built once for all clients
 *   would need ws's private `_socket`, so it is not measured.
 */
async function wsBroadcast({ preEncode }) {
  const { WebSocketServer, WebSocket } = await import("ws")
  let server
  const sendOptions = { binary: false }
  const broadcast = (data) => {
    const message = preEncode ? Buffer.from(data) : data
    for (const client of server.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(message, sendOptions)
    }
  }
  return {
    // perMessageDeflate is off by default on a ws server; the SSE contenders do not compress either.
    attach: (httpServer) => {
      server = new WebSocketServer({ server: httpServer })
    },
    onRequest: (_req, res) => res.writeHead(426).end(),
    publish: (_id, data) => broadcast(data),
    publishBatch: preEncode ? (events) => broadcast(events.map(({ data }) => data).join("\n")) : undefined,
    count: () => server.clients.size,
  }
}
contenders.ws = () => wsBroadcast({ preEncode: false })
contenders["ws-buffer"] = () => wsBroadcast({ preEncode: true })

/**
 * A hub on the engine that `open` resolves to (`{ engine, close }`: `close` also removes what
 * the bench stored). Events are appended to the hub's log ("mercure") through an
 * update log of the bench's own, as another node's append would arrive: the hub decodes and
 * frames each entry once.
 */
async function hubContender(open) {
  const { createHub } = await import("../../dist/hub/hub.js")
  const { openUpdateLog } = await import("../../dist/hub/update-log.js")
  const { engine, close } = await open()
  const hub = createHub({
    engine,
    hubUrl: "http://127.0.0.1/.well-known/mercure",
    allowAnonymousSubscribe: true,
    limits: { maxConnectionsPerAddress: 100_000, maxConnections: 100_000 },
  })
  const updates = openUpdateLog(engine)
  const update = ({ id, data }) => ({ topics: ["bench"], data, private: false, id })
  return {
    onRequest: hub.handle,
    // Resolves once stored and handed to this node's subscribers: a closed loop waits for it.
    publish: (id, data) => updates.append([update({ id, data })]),
    publishBatch: (events) => void updates.append(events.map(update)),
    count: () => hub.connections,
    close: async () => {
      await hub.close({ deadlineMs: 100 })
      await close()
    },
  }
}

const name = process.argv[2]
if (!(name in contenders)) {
  console.error(`Unknown contender ${name}; use one of ${Object.keys(contenders).join(", ")}`)
  process.exit(2)
}
const contender = await contenders[name]()
/** Starts every event id: nodes publishing to one hub need ids of their own (`node server.js hub-redis b`). */
const idPrefix = process.argv[3] ?? ""
const nowMicros = () => Number(process.hrtime.bigint() / 1000n)
let sequence = 0
/** Time spent inside publish calls (the synchronous fan-out loop), for the report. */
let publishMicros = 0
/** Publishes one event; returns what the contender's publish returns (a hub: a promise). */
const publishOne = () => {
  sequence++
  const startedAt = nowMicros()
  const published = contender.publish(`${idPrefix}${sequence}`, `${startedAt} ${sequence} ${PAD}`)
  publishMicros += nowMicros() - startedAt
  return published
}
/** Publishes `count` events that arrived together: as a batch where the contender has a batch API, else one by one. */
const publishMany = (count) => {
  const startedAt = nowMicros()
  const events = []
  for (let i = 0; i < count; i++) {
    sequence++
    events.push({ id: `${idPrefix}${sequence}`, data: `${startedAt} ${sequence} ${PAD}` })
  }
  if (contender.publishBatch) contender.publishBatch(events)
  else for (const { id, data } of events) contender.publish(id, data)
  publishMicros += nowMicros() - startedAt
}

const commands = {
  count: () => ({ count: contender.count() }),
  cpu: () => ({ ...process.cpuUsage(), publishMicros }),
  rss() {
    for (let i = 0; i < 3; i++) globalThis.gc?.()
    return { rss: process.memoryUsage.rss(), heapUsed: process.memoryUsage().heapUsed }
  },
  /**
   * Publishes `events` events back to back, yielding to I/O between them; an event whose publish
   * is asynchronous (a hub: stored, then handed to subscribers) is awaited before the next.
   */
  burst: ({ events }) =>
    new Promise((resolve, reject) => {
      const startedAt = nowMicros()
      let left = events
      const next = () => {
        const afterPublish = () => {
          if (--left > 0) setImmediate(next)
          else resolve({ startedAt, endedAt: nowMicros() })
        }
        const published = publishOne()
        if (published instanceof Promise) published.then(afterPublish, reject)
        else afterPublish()
      }
      next()
    }),
  /**
   * Open loop: `events` events offered at `rate` per second whatever the server's speed, as a
   * publisher fed from outside would. Each timer turn publishes every event due by then.
   */
  offered: ({ rate, events }) =>
    new Promise((resolve) => {
      const startedAt = nowMicros()
      const start = performance.now()
      let sent = 0
      let largestBatch = 0
      const tick = () => {
        const due = Math.min(events, Math.floor(((performance.now() - start) / 1000) * rate) + 1) - sent
        if (due > 0) {
          publishMany(due)
          sent += due
          largestBatch = Math.max(largestBatch, due)
        }
        if (sent >= events) return resolve({ startedAt, endedAt: nowMicros(), largestBatch })
        setTimeout(tick, Math.max(0, start + (sent * 1000) / rate - performance.now()))
      }
      tick()
    }),
  /**
   * Publishes `rate` events per second for `durationMs`, on a schedule that does not drift.
   * Resolves once every publish has settled, with the sequences of those that failed (a hub
   * whose engine did not answer in time: such an update may or may not have been stored).
   */
  paced: ({ rate, durationMs }) =>
    new Promise((resolve) => {
      const period = 1000 / rate
      const total = Math.round((durationMs / 1000) * rate)
      const start = performance.now()
      let sent = 0
      let lateMs = 0
      const settled = []
      const failed = []
      const tick = () => {
        lateMs = Math.max(lateMs, performance.now() - (start + sent * period))
        const published = publishOne()
        const number = sequence
        if (published instanceof Promise) settled.push(published.catch(() => failed.push(number)))
        sent++
        if (sent >= total) {
          Promise.all(settled).then(() => resolve({ sent, maxScheduleLagMs: lateMs, failed }))
          return
        }
        setTimeout(tick, Math.max(0, start + sent * period - performance.now()))
      }
      tick()
    }),
}

const server = createServer(contender.onRequest)
contender.attach?.(server)
server.listen(0, "127.0.0.1", 8192, () => {
  process.send({ type: "ready", port: server.address().port })
})
// Orphaned (the bench died): go too.
process.on("disconnect", () => process.exit(0))
process.on("message", async (message) => {
  if (message.cmd === "exit") {
    server.closeAllConnections()
    server.close()
    await contender.close?.()
    process.exit(0)
  }
  const reply = await commands[message.cmd](message)
  process.send({ type: message.cmd, ...reply })
})
