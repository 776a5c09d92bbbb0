// Publish ingest: how many updates per second the hub accepts, and how fast each publish is
// acknowledged, over keep-alive HTTP from a separate process — single form POSTs (16 in flight),
// JSON batches of 100, and one NDJSON stream. Against, in the same run, a floor that only parses
// the form and answers an id (no token check, no validation, no storage).
// Every acknowledged update is stored (memory), committed (sqlite, WAL) or written by Redis
// (redis: the server on 127.0.0.1:6379, or HERALD_BENCH_REDIS_URL) before the 200.
//
// `HERALD_BENCH_RUNS=1 npm run bench -- hub-ingest` for a quick look.
import { fork } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { createPublisher, FORM, jsonBatch, publisherToken, UPDATE_JSON } from "./hub/publisher.js"
import { median, percentile } from "./stats.js"

const here = dirname(fileURLToPath(import.meta.url))
const RUNS = Number(process.env.HERALD_BENCH_RUNS ?? 3)
const SINGLE_REQUESTS = 10_000
const IN_FLIGHT = 16
const BATCHES = 100
const BATCH_SIZE = 100
const STREAM_LINES = 10_000
const KINDS = ["plain", "memory", "sqlite", "redis"]

const token = await publisherToken()

async function measure(kind) {
  const dir = mkdtempSync(join(tmpdir(), "herald-ingest-"))
  const child = fork(join(here, "hub/ingest-server.js"), [kind, dir], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  })
  const [{ port }] = await once(child, "message")
  const publisher = createPublisher(`http://127.0.0.1:${port}`, token, IN_FLIGHT)
  const post = (path, body, contentType) =>
    publisher.post(path, body, contentType).catch((error) => {
      throw new Error(`${kind}: ${error.message}`)
    })
  try {
    // Single publishes, IN_FLIGHT at a time.
    const latencies = new Float64Array(SINGLE_REQUESTS)
    let next = 0
    const started = performance.now()
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < SINGLE_REQUESTS) {
          const index = next++
          const sent = performance.now()
          await post("/.well-known/mercure", FORM, "application/x-www-form-urlencoded")
          latencies[index] = performance.now() - sent
        }
      }),
    )
    const single = SINGLE_REQUESTS / ((performance.now() - started) / 1000)
    const sorted = latencies.sort()
    if (kind === "plain") return { single, p50: percentile(sorted, 50), p99: percentile(sorted, 99) }

    const batchBody = jsonBatch(BATCH_SIZE)
    const batchStarted = performance.now()
    for (let i = 0; i < BATCHES; i++) await post("/herald/v1/publish", batchBody, "application/json")
    const batch = (BATCHES * BATCH_SIZE) / ((performance.now() - batchStarted) / 1000)

    const streamStarted = performance.now()
    await post(
      "/herald/v1/publish",
      Array.from({ length: STREAM_LINES }, () => UPDATE_JSON).join("\n"),
      "application/x-ndjson",
    )
    const stream = STREAM_LINES / ((performance.now() - streamStarted) / 1000)
    return { single, p50: percentile(sorted, 50), p99: percentile(sorted, 99), batch, stream }
  } finally {
    publisher.close()
    child.send({ cmd: "exit" })
    await once(child, "exit")
    rmSync(dir, { recursive: true, force: true })
  }
}

const results = new Map(KINDS.map((kind) => [kind, []]))
for (let run = 0; run < RUNS; run++) {
  for (const kind of KINDS) {
    const result = await measure(kind)
    results.get(kind).push(result)
    console.error(
      `  run ${run + 1} ${kind}: ${Math.round(result.single)} single/s (p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms)` +
        (result.batch === undefined
          ? ""
          : `, ${Math.round(result.batch)} batched/s, ${Math.round(result.stream)} streamed/s`),
    )
  }
}

const format = (value) => (value === undefined ? "—" : Math.round(value).toLocaleString("en-US"))
const floor = median(results.get("plain").map((r) => r.single))
console.log(
  `\n### Publish ingest (~100-byte updates, keep-alive, ${IN_FLIGHT} in flight; median of ${RUNS} runs)\n`,
)
console.log(
  "| endpoint | single POSTs/s | ÷ floor | p50 ms | p99 ms | updates/s in JSON batches of 100 | updates/s in one NDJSON stream |",
)
console.log("|---|---:|---:|---:|---:|---:|---:|")
for (const kind of KINDS) {
  const runs = results.get(kind)
  const single = median(runs.map((r) => r.single))
  const label = kind === "plain" ? "floor: parse the form, answer an id" : `hub, ${kind} engine`
  console.log(
    `| ${label} | ${format(single)} | ${kind === "plain" ? "—" : `${(single / floor).toFixed(2)}×`} | ` +
      `${median(runs.map((r) => r.p50)).toFixed(2)} | ${median(runs.map((r) => r.p99)).toFixed(2)} | ` +
      `${kind === "plain" ? "—" : format(median(runs.map((r) => r.batch)))} | ${kind === "plain" ? "—" : format(median(runs.map((r) => r.stream)))} |`,
  )
}
