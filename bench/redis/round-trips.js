// Redis round trips, bytes and CPU per publish request, through a hub on the redis engine in its
// own process (bench/hub/ingest-server.js) with 10 subscribers listening: single form POSTs and
// JSON batches of 100. Commands are counted from MONITOR (who sent each one); bytes and Redis's
// main-thread CPU from INFO deltas, in a second pass without MONITOR (its feed would count).
import { fork } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Redis } from "ioredis"
import { createPublisher, FORM, jsonBatch, publisherToken, TOPIC } from "../hub/publisher.js"
import { startChild } from "../server/harness.js"
import { openMonitor } from "./monitor.js"
import { info, redisCpuMicros, statsAround } from "./redis-server.js"

const here = dirname(fileURLToPath(import.meta.url))
const SUBSCRIBERS = 10
const IN_FLIGHT = 16
const BATCH_SIZE = 100

/** The two kinds of publish request: how many are sent per pass, and how. */
const KINDS = [
  {
    name: "single form POST",
    requests: 1000,
    updatesPerRequest: 1,
    send: (post) => post("/.well-known/mercure", FORM, "application/x-www-form-urlencoded"),
    inFlight: IN_FLIGHT,
  },
  {
    name: `JSON batch of ${BATCH_SIZE}`,
    requests: 50,
    updatesPerRequest: BATCH_SIZE,
    send: (post) => post("/herald/v1/publish", jsonBatch(BATCH_SIZE), "application/json"),
    inFlight: 1,
  },
]

/** Sends `count` requests of `kind`, `kind.inFlight` at a time. */
async function sendMany(post, kind, count) {
  let next = 0
  await Promise.all(
    Array.from({ length: kind.inFlight }, async () => {
      while (next < count) {
        next++
        await kind.send(post)
      }
    }),
  )
}

/**
 * Per kind of request: Redis commands sent per request (by command), commands run inside Redis
 * per request, bytes into and out of Redis per request, and the fewest/most updates one
 * subscriber received (both must equal the updates published).
 */
export async function measureRoundTrips(url) {
  const dir = mkdtempSync(join(tmpdir(), "herald-bench-round-trips-"))
  const node = fork(join(here, "../hub/ingest-server.js"), ["redis", dir], {
    env: { ...process.env, HERALD_BENCH_REDIS_URL: url },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  })
  const [{ port }] = await once(node, "message")
  const subscribers = await startChild("client.js", [])
  const publisher = createPublisher(`http://127.0.0.1:${port}`, await publisherToken(), IN_FLIGHT)
  const control = new Redis(url)
  let monitor
  try {
    const opened = await subscribers.request("connect", {
      port,
      n: SUBSCRIBERS,
      path: `/.well-known/mercure?topic=${encodeURIComponent(TOPIC)}`,
    })
    if (opened.opened !== SUBSCRIBERS) throw new Error(`only ${opened.opened} subscribers connected`)
    // Warm-up: the log is created, the scripts are loaded, the connections are open.
    for (const kind of KINDS) await sendMany(publisher.post, kind, 5)
    const controlAddress = (await control.client("INFO")).match(/addr=(\S+)/)[1]

    /** Publishes one pass of `kind`; resolves once every subscriber has every update. */
    const pass = async (kind) => {
      await subscribers.request("reset", { measureLatency: false })
      await sendMany(publisher.post, kind, kind.requests)
      const updates = kind.requests * kind.updatesPerRequest
      const received = await subscribers.request("wait", {
        expected: SUBSCRIBERS * updates,
        timeoutMs: 30_000,
      })
      return { fewest: received.fewestPerConnection, most: received.mostPerConnection, updates }
    }

    const results = []
    for (const kind of KINDS) {
      monitor = await openMonitor(Number(new URL(url).port || 6379), controlAddress)
      const from = await monitor.mark(control)
      const delivered = await pass(kind)
      const to = await monitor.mark(control)
      const counts = monitor.between(from, to)
      monitor.close()
      monitor = undefined

      const cpuBefore = await info(control, "cpu")
      const { delta: bytes } = await statsAround(control, () => pass(kind))
      const cpuAfter = await info(control, "cpu")

      const perRequest = (value) => value / kind.requests
      let sent = 0
      let inside = 0
      const sentByCommand = {}
      const insideByCommand = {}
      for (const [key, count] of counts) {
        const [source, command] = key.split(" ")
        if (source === "lua") {
          inside += count
          insideByCommand[command] = perRequest(count)
        } else {
          sent += count
          sentByCommand[command] = perRequest(count)
        }
      }
      results.push({
        kind: kind.name,
        requests: kind.requests,
        updatesPerRequest: kind.updatesPerRequest,
        commandsPerRequest: perRequest(sent),
        sentByCommand,
        insidePerRequest: perRequest(inside),
        insideByCommand,
        bytesInPerRequest: perRequest(bytes("total_net_input_bytes")),
        bytesOutPerRequest: perRequest(bytes("total_net_output_bytes")),
        redisCpuPerRequest: perRequest(redisCpuMicros(cpuBefore, cpuAfter)),
        ...delivered,
      })
    }
    return results
  } finally {
    monitor?.close()
    control.disconnect()
    publisher.close()
    await subscribers.stop()
    node.send({ cmd: "exit" })
    await once(node, "exit")
    rmSync(dir, { recursive: true, force: true })
  }
}
