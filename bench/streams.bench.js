// Durable Streams: Herald's streams handler (memory engine; sqlite engine with every append
// fsynced) against the reference server, @durable-streams/server (in memory; file-backed, which
// fdatasyncs every append), in the same run, each contender in its own process on loopback, the
// contenders interleaved in every run; medians of HERALD_BENCH_RUNS runs (default 3). Herald on
// the redis engine too (a redis-server of its own per contender run, AOF fsync every second):
// informative, the reference has no such peer.
//   - appends/s: one JSON message (~100 bytes) per POST over keep-alive, 16 in flight; then the
//     same with idempotent producers (16 producers, each its own Producer-Id, one in flight).
//     10 000 appends or 10 s, whichever comes first, after 2 000 unmeasured ones (both servers
//     are JIT-compiled programs: a short run measures the compiler). With each rate, the server
//     process's CPU time (user + system, all its threads; not redis-server's) per append.
//   - catch-up read MB/s: a stream of 10 000 messages of 1 KiB read from -1 to its tail,
//     following Stream-Next-Offset, by one client.
//   - SSE fan-out (a fresh server): 1 000 readers of one stream (raw sockets in a process of
//     their own). Memory per open reader: the server's RSS and JS heap after a full GC with the
//     readers idle, minus before they connected, ÷ 1 000. Latency: 20 appends/s for 3 s,
//     append→delivery p50 and p99. Deliveries/s: 200 appends (or 10 s of them), 16 in flight.
//     Each phase counts only its own messages, and waits at most 60 s for them: what has not
//     arrived by then is reported as late.
//
// `HERALD_BENCH_RUNS=1 npm run bench -- streams` for a quick look. A focused run picks its parts
// and contenders (comma-separated; default all; contenders run in the order given), e.g.
//   HERALD_BENCH_STREAMS_PARTS=appends HERALD_BENCH_STREAMS_CONTENDERS=herald-memory,reference-memory
// Parts: appends, catch-up, fan-out.
import { fork } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync, rmSync } from "node:fs"
import { Agent, request } from "node:http"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { startRedis } from "./redis/redis-server.js"
import { cpuMicrosBetween, median, percentile } from "./stats.js"

const here = dirname(fileURLToPath(import.meta.url))
const RUNS = Number(process.env.HERALD_BENCH_RUNS ?? 3)
const ALL_CONTENDERS = [
  "herald-memory",
  "herald-sqlite",
  "reference-memory",
  "reference-file",
  "herald-redis",
]
const ALL_PARTS = ["appends", "catch-up", "fan-out"]
/** The names an environment variable picks (comma-separated, in its order) out of `all`; all of them when it is unset. */
const selected = (variable, all) => {
  const value = process.env[variable]
  if (value === undefined || value.trim() === "") return all
  const picked = value.split(",").map((name) => name.trim())
  const unknown = picked.filter((name) => !all.includes(name))
  if (unknown.length > 0)
    throw new Error(`${variable}: unknown ${unknown.join(", ")} (known: ${all.join(", ")})`)
  return picked
}
const CONTENDERS = selected("HERALD_BENCH_STREAMS_CONTENDERS", ALL_CONTENDERS)
const PARTS = selected("HERALD_BENCH_STREAMS_PARTS", ALL_PARTS)
const LABELS = {
  "herald-memory": "Herald, memory engine",
  "herald-sqlite": "Herald, sqlite engine (durable: fsync per commit)",
  "reference-memory": "@durable-streams/server 0.3.7, in memory",
  "reference-file": "@durable-streams/server 0.3.7, file-backed (fdatasync per append)",
  "herald-redis": "Herald, redis engine (its own redis-server, AOF fsync every second)",
}
const APPENDS = 10_000
const WARM_UP_APPENDS = 2000
const PHASE_MS = 10_000
const IN_FLIGHT = 16
const CATCH_UP_MESSAGES = 10_000
const CATCH_UP_BATCH = 100
const CATCH_UP_READS = 3
const READERS = 1000
const FANOUT_APPENDS = 200
const PACED_RATE = 20
const PACED_MS = 3000
const WAIT_MS = 60_000

const nowMicros = () => Number(process.hrtime.bigint() / 1000n)
/** A message of about `bytes` bytes, stamped with its append time for the readers' latency. */
const message = (bytes) => {
  const head = `{"t":${nowMicros()},"pad":"`
  return `${head}${"x".repeat(Math.max(0, bytes - head.length - 2))}"}`
}

/** A child process answering one IPC request at a time. */
async function startChild(script, args, execArgv = []) {
  // stdout ignored: the reference server logs every slow append there.
  const child = fork(join(here, "streams", script), args, {
    execArgv,
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  })
  const [ready] = await once(child, "message")
  const ask = async (cmd, payload = {}) => {
    child.send({ cmd, ...payload })
    for (;;) {
      const [reply] = await once(child, "message")
      if (reply.type === cmd) return reply
    }
  }
  const stop = async () => {
    if (child.exitCode !== null) return
    const exited = once(child, "exit")
    child.send({ cmd: "exit" })
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000)
    await exited
    clearTimeout(timer)
  }
  return { ready, ask, stop }
}

/** HTTP requests to one server over keep-alive connections. */
function client(port) {
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT })
  const send = (method, path, body, headers = {}) =>
    new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path, method, agent, headers })
      req.on("error", reject)
      req.on("response", (response) => {
        const chunks = []
        response.on("data", (chunk) => chunks.push(chunk))
        response.on("end", () => {
          if (response.statusCode >= 300) {
            reject(new Error(`${method} ${path} answered ${response.statusCode}: ${Buffer.concat(chunks)}`))
          } else resolve({ headers: response.headers, body: Buffer.concat(chunks) })
        })
      })
      req.end(body)
    })
  const json = { "content-type": "application/json" }
  return {
    create: (path) => send("PUT", path, undefined, json),
    append: (path, body, headers = {}) => send("POST", path, body, { ...json, ...headers }),
    read: (path, offset) => send("GET", `${path}?offset=${encodeURIComponent(offset)}`),
    close: () => agent.destroy(),
  }
}

/**
 * Up to `count` appends of one message, `IN_FLIGHT` at a time, for at most PHASE_MS;
 * `headersOf(index, worker)` adds a request's headers.
 */
async function appendMany(http, path, count, headersOf = () => ({})) {
  const latencies = []
  let next = 0
  const started = performance.now()
  const deadline = started + PHASE_MS
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, worker) => {
      for (let index = next++; index < count && performance.now() < deadline; index = next++) {
        const sent = performance.now()
        await http.append(path, message(100), headersOf(index, worker))
        latencies.push(performance.now() - sent)
      }
    }),
  )
  const rate = latencies.length / ((performance.now() - started) / 1000)
  return { appended: latencies.length, rate, p50: percentile(latencies, 50), p99: percentile(latencies, 99) }
}

/** `phase()` with the server's CPU time (user + system) per append it made, in µs. */
async function withServerCpu(server, phase) {
  const before = await server.ask("cpu")
  const result = await phase()
  const after = await server.ask("cpu")
  return { ...result, cpuPerAppend: cpuMicrosBetween(before, after) / result.appended }
}

async function measureAppends(http, server) {
  await http.create("/v1/stream/bench/warm-up")
  await appendMany(http, "/v1/stream/bench/warm-up", WARM_UP_APPENDS)
  await http.create("/v1/stream/bench/appends")
  const single = await withServerCpu(server, () => appendMany(http, "/v1/stream/bench/appends", APPENDS))
  // One producer per worker, each sequential: seq counts that producer's appends.
  await http.create("/v1/stream/bench/producers")
  const seqs = new Array(IN_FLIGHT).fill(0)
  const producer = await withServerCpu(server, () =>
    appendMany(http, "/v1/stream/bench/producers", APPENDS, (_, worker) => ({
      "producer-id": `producer-${worker}`,
      "producer-epoch": "0",
      "producer-seq": String(seqs[worker]++),
    })),
  )
  return { single, producer }
}

async function measureCatchUp(http) {
  const path = "/v1/stream/bench/catch-up"
  await http.create(path)
  const batch = `[${Array.from({ length: CATCH_UP_BATCH }, () => message(1024)).join(",")}]`
  for (let i = 0; i < CATCH_UP_MESSAGES / CATCH_UP_BATCH; i++) await http.append(path, batch)
  const rates = []
  for (let read = 0; read < CATCH_UP_READS; read++) {
    const started = performance.now()
    let bytes = 0
    let offset = "-1"
    // Bounded: each page moves the offset on, and the stream does not grow meanwhile.
    for (let page = 0; page < CATCH_UP_MESSAGES; page++) {
      const { headers, body } = await http.read(path, offset)
      bytes += body.length
      offset = headers["stream-next-offset"]
      if (headers["stream-up-to-date"] !== undefined) break
    }
    if (bytes < CATCH_UP_MESSAGES * 1024) throw new Error(`catch-up read ${bytes} bytes only`)
    rates.push(bytes / 1024 / 1024 / ((performance.now() - started) / 1000))
  }
  return median(rates)
}

async function measureFanOut(contender, serverArgs) {
  const server = await startChild("server.js", [contender, ...serverArgs], ["--expose-gc"])
  const { port } = server.ready
  const http = client(port)
  const path = "/v1/stream/bench/fan-out"
  await http.create(path)
  await http.append(path, message(100))
  const before = await server.ask("rss")
  const readers = await startChild("readers.js", [])
  try {
    const { opened, live } = await readers.ask("connect", { port, path, n: READERS, timeoutMs: WAIT_MS })
    if (live < READERS) throw new Error(`only ${live} of ${READERS} readers are live (${opened} opened)`)
    // Lets the last handshakes' garbage and socket buffers settle before the GC.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const idle = await server.ask("rss")

    await readers.ask("reset", { measureLatency: true })
    const total = Math.round((PACED_MS / 1000) * PACED_RATE)
    const start = performance.now()
    for (let sent = 0; sent < total; sent++) {
      const due = start + (sent * 1000) / PACED_RATE - performance.now()
      if (due > 0) await new Promise((resolve) => setTimeout(resolve, due))
      await http.append(path, message(100))
    }
    const paced = await readers.ask("wait", { expected: READERS * total, timeoutMs: WAIT_MS })

    await readers.ask("reset", { measureLatency: false })
    const startedAt = nowMicros()
    const { appended } = await appendMany(http, path, FANOUT_APPENDS)
    const burst = await readers.ask("wait", { expected: READERS * appended, timeoutMs: WAIT_MS })
    return {
      rssPerReader: (idle.rss - before.rss) / READERS,
      heapPerReader: (idle.heapUsed - before.heapUsed) / READERS,
      p50: paced.p50,
      p99: paced.p99,
      deliveries: burst.delivered / ((burst.lastDeliveryAt - startedAt) / 1e6),
      late: READERS * (total + appended) - paced.delivered - burst.delivered,
    }
  } finally {
    await readers.stop()
    http.close()
    await server.stop()
  }
}

/** The selected parts for one contender: `{ appends?, catchUp?, fanOut? }`. */
async function measure(contender) {
  const dir = mkdtempSync(join(tmpdir(), "herald-streams-bench-"))
  const redis = contender === "herald-redis" ? await startRedis() : undefined
  // Each server its own directory (and key prefix on redis): the fan-out starts on a fresh one.
  const serverArgs = (name) => [join(dir, name), ...(redis === undefined ? [] : [redis.url])]
  try {
    const result = {}
    if (PARTS.includes("appends") || PARTS.includes("catch-up")) {
      const server = await startChild("server.js", [contender, ...serverArgs("a")])
      const http = client(server.ready.port)
      try {
        if (PARTS.includes("appends")) result.appends = await measureAppends(http, server)
        if (PARTS.includes("catch-up")) result.catchUp = await measureCatchUp(http)
      } finally {
        http.close()
        await server.stop()
      }
    }
    if (PARTS.includes("fan-out")) result.fanOut = await measureFanOut(contender, serverArgs("b"))
    return result
  } finally {
    await redis?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** One run's figures for one contender, on one line. */
function summary({ appends, catchUp, fanOut }) {
  const parts = []
  if (appends !== undefined) {
    const { single, producer } = appends
    parts.push(
      `appends ${Math.round(single.rate)}/s (p99 ${single.p99.toFixed(2)} ms, ${single.cpuPerAppend.toFixed(1)} µs CPU each; ` +
        `producer ${Math.round(producer.rate)}/s, ${producer.cpuPerAppend.toFixed(1)} µs CPU each)`,
    )
  }
  if (catchUp !== undefined) parts.push(`catch-up ${catchUp.toFixed(1)} MB/s`)
  if (fanOut !== undefined) {
    parts.push(
      `fan-out ${Math.round(fanOut.deliveries)} deliveries/s (p50 ${fanOut.p50.toFixed(1)} ms, ` +
        `p99 ${fanOut.p99.toFixed(1)} ms, late ${fanOut.late}), ` +
        `${(fanOut.rssPerReader / 1024).toFixed(1)} KiB RSS / ${(fanOut.heapPerReader / 1024).toFixed(1)} KiB heap per reader`,
    )
  }
  return parts.join(", ")
}

const results = new Map(CONTENDERS.map((contender) => [contender, []]))
for (let run = 0; run < RUNS; run++) {
  for (const contender of CONTENDERS) {
    const result = await measure(contender)
    results.get(contender).push(result)
    console.error(`  run ${run + 1} ${contender}: ${summary(result)}`)
  }
}

const medianOf = (contender, pick) => median(results.get(contender).map(pick))
const count = (value) => Math.round(value).toLocaleString("en-US")
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`
/** Herald's figure over the reference's in the same storage class (memory with memory, durable with durable). */
const REFERENCE_OF = { "herald-memory": "reference-memory", "herald-sqlite": "reference-file" }
const versus = (contender, pick, higherIsBetter = true) => {
  const reference = REFERENCE_OF[contender]
  if (!CONTENDERS.includes(contender) || !CONTENDERS.includes(reference)) return "—"
  const ours = medianOf(contender, pick)
  const theirs = medianOf(reference, pick)
  return `${(higherIsBetter ? ours / theirs : theirs / ours).toFixed(2)}×`
}
/** [part, label, pick, format, higher is better] */
const rows = [
  ["appends", "appends/s, one message per POST, 16 in flight", (r) => r.appends.single.rate, count, true],
  ["appends", "append p99 ms", (r) => r.appends.single.p99, (v) => v.toFixed(2), false],
  ["appends", "server CPU µs per append", (r) => r.appends.single.cpuPerAppend, (v) => v.toFixed(1), false],
  [
    "appends",
    "appends/s, idempotent producers (16, one in flight each)",
    (r) => r.appends.producer.rate,
    count,
    true,
  ],
  [
    "appends",
    "server CPU µs per append, idempotent producers",
    (r) => r.appends.producer.cpuPerAppend,
    (v) => v.toFixed(1),
    false,
  ],
  ["catch-up", "catch-up read MB/s (10 000 × 1 KiB, from -1)", (r) => r.catchUp, (v) => v.toFixed(1), true],
  [
    "fan-out",
    "SSE fan-out to 1 000 readers, deliveries/s (appends 16 in flight)",
    (r) => r.fanOut.deliveries,
    count,
    true,
  ],
  ["fan-out", `SSE fan-out p50 ms @${PACED_RATE} appends/s`, (r) => r.fanOut.p50, (v) => v.toFixed(1), false],
  ["fan-out", `SSE fan-out p99 ms @${PACED_RATE} appends/s`, (r) => r.fanOut.p99, (v) => v.toFixed(1), false],
  ["fan-out", "memory per open SSE reader (RSS)", (r) => r.fanOut.rssPerReader, kib, false],
  ["fan-out", "memory per open SSE reader (JS heap)", (r) => r.fanOut.heapPerReader, kib, false],
].filter(([part]) => PARTS.includes(part))
console.log(`\n### Durable Streams: Herald vs @durable-streams/server 0.3.7 (median of ${RUNS} runs)\n`)
console.log(
  `| | ${CONTENDERS.map((contender) => LABELS[contender]).join(" | ")} | Herald memory ÷ reference memory | Herald sqlite ÷ reference file |`,
)
console.log(`|---|${CONTENDERS.map(() => "---:").join("|")}|---:|---:|`)
for (const [, label, pick, format, higherIsBetter] of rows) {
  const cells = CONTENDERS.map((contender) => format(medianOf(contender, pick)))
  const ratios = ["herald-memory", "herald-sqlite"].map((contender) =>
    versus(contender, pick, higherIsBetter),
  )
  console.log(`| ${label} | ${cells.join(" | ")} | ${ratios.join(" | ")} |`)
}
if (PARTS.includes("fan-out")) {
  const late = CONTENDERS.map(
    (contender) => `${contender} ${results.get(contender).reduce((sum, r) => sum + r.fanOut.late, 0)}`,
  )
  console.log(`\nMessages not delivered to SSE readers within 60 s, all runs: ${late.join(", ")}.`)
}
console.log(
  "Ratios: above 1 means Herald is ahead (for latency and memory: the reference's figure ÷ Herald's).",
)
