// Hub resume lookup: how long a reconnecting client's resume costs as the history grows. Times
// what the hub does for a Last-Event-ID — locate the update with that id in the hub's log, then
// read the 100 entries after it — with 1k, 100k and 1M updates stored, on the memory, sqlite and
// redis engines (redis: the server on 127.0.0.1:6379, or HERALD_BENCH_REDIS_URL; skipped with a
// note when none answers). The goal (DESIGN.md: cursor lookup O(log n) or better) is a 1M / 1k
// ratio near 1. The peer is a linear scan of the same in-memory history (a plain array +
// findIndex).
// Run: npm run bench -- hub-resume   (after a build, `node bench/hub-resume.bench.js --quick` for
// 1k / 10k / 100k: bench/run.js does not pass flags on)
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createMemoryEngine, createSqliteEngine } from "../dist/engine/index.js"
import { createRedisEngine } from "../dist/engine/redis.js"
import { openUpdateLog } from "../dist/hub/update-log.js"
import { median, printTable } from "./stats.js"

const quick = process.argv.includes("--quick")
const SIZES = quick ? [1_000, 10_000, 100_000] : [1_000, 100_000, 1_000_000]
const RUNS = quick ? 3 : 7
/** Lookups timed per run; the run's figure is their median. */
const LOOKUPS = 300
/** The cursors are drawn from this many newest updates: a client that was away briefly. */
const RECENT = 1_000
const PAGE = 100
/** Updates per append (one transaction on sqlite): filling 1M rows takes seconds, not minutes. */
const FILL_BATCH = 20_000
/** No fill may take longer than this; the bench stops with an error instead of running on. */
const FILL_LIMIT_MS = 180_000

const root = mkdtempSync(join(tmpdir(), "herald-bench-resume-"))
const largest = SIZES[SIZES.length - 1]
const retention = { maxEntries: largest, maxAgeMs: 864e5 }
const engines = [
  { name: "memory", engine: createMemoryEngine({ retention }) },
  { name: "sqlite", engine: createSqliteEngine({ path: join(root, "herald.db"), retention }) },
]
const redisUrl = process.env.HERALD_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379"
const redisPrefix = `herald-bench-resume-${process.pid}`
try {
  const engine = createRedisEngine({ url: redisUrl, keyPrefix: redisPrefix, retention })
  await engine.head("probe")
  engines.push({ name: "redis", engine })
} catch (error) {
  console.log(`redis: skipped, ${redisUrl} does not answer (${error.message})`)
}
const contenders = engines.map(({ name, engine }) => ({ name, engine, log: openUpdateLog(engine, "bench") }))
/** The linear-scan peer's history: ids only, which is all a findIndex touches. */
const scanIds = []

function makeUpdate(n) {
  return {
    topics: ["https://example.com/feed"],
    data: `{"n":${n},"text":"update number ${n}"}`,
    private: false,
    id: `u${n}`,
  }
}

async function fill(log, from, to) {
  const started = performance.now()
  for (let n = from; n < to; n += FILL_BATCH) {
    const batch = []
    for (let i = n; i < Math.min(to, n + FILL_BATCH); i++) batch.push(makeUpdate(i))
    await log.append(batch)
    // Let the sqlite engine's retention trims run between batches, as they would in a hub.
    await new Promise((resolve) => setImmediate(resolve))
    if (performance.now() - started > FILL_LIMIT_MS)
      throw new Error(`filling ${to} updates took over ${FILL_LIMIT_MS} ms`)
  }
  return performance.now() - started
}

/** Deterministic cursors among the newest RECENT updates (a fixed sequence per run). */
function cursors(size, run) {
  const out = []
  let state = 12345 + run
  for (let i = 0; i < LOOKUPS; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    out.push(size - PAGE - 1 - (state % Math.min(RECENT, size - PAGE - 1)))
  }
  return out
}

async function timeEngine({ engine, log }, size, run) {
  const times = []
  for (const at of cursors(size, run)) {
    const started = performance.now()
    const position = await log.locate(`u${at}`)
    const result = position === undefined ? undefined : await engine.read(log.name, position, PAGE)
    times.push(performance.now() - started)
    // A wrong answer makes the timing meaningless: check it every time.
    if (!result?.held || result.entries.length !== PAGE || result.entries[0].key !== `u${at + 1}`) {
      throw new Error(`${engine.name}: wrong answer for u${at} at ${size} updates`)
    }
  }
  return median(times) * 1000
}

function timeScan(size, run) {
  const times = []
  for (const at of cursors(size, run)) {
    const started = performance.now()
    const index = scanIds.indexOf(`u${at}`)
    const page = scanIds.slice(index + 1, index + 1 + PAGE)
    times.push(performance.now() - started)
    if (page[0] !== `u${at + 1}`) throw new Error("scan: wrong answer")
  }
  return median(times) * 1000
}

const results = new Map()
let filled = 0
for (const size of SIZES) {
  for (const { name, log } of contenders) {
    const ms = await fill(log, filled, size)
    console.log(`${name}: filled to ${size.toLocaleString("en-US")} updates in ${(ms / 1000).toFixed(1)} s`)
  }
  for (let n = filled; n < size; n++) scanIds.push(`u${n}`)
  filled = size
  globalThis.gc?.()
  // One warm-up run each, then interleaved runs so drift hits every contender alike.
  for (const contender of contenders) await timeEngine(contender, size, -1)
  timeScan(size, -1)
  for (let run = 0; run < RUNS; run++) {
    for (const contender of contenders) {
      const key = `${contender.name}@${size}`
      results.set(key, [...(results.get(key) ?? []), await timeEngine(contender, size, run)])
    }
    const key = `linear scan@${size}`
    results.set(key, [...(results.get(key) ?? []), timeScan(size, run)])
  }
  console.log(`measured at ${size.toLocaleString("en-US")}`)
}

const names = [...contenders.map((c) => c.name), "linear scan"]
const us = (value) => `${value < 10 ? value.toFixed(2) : value.toFixed(1)} µs`
printTable(
  `locate(recent id) + read(${PAGE}): median µs per resume (median of ${RUNS} runs × ${LOOKUPS} lookups)`,
  ["engine", ...SIZES.map((s) => `${s.toLocaleString("en-US")} stored`), `${SIZES.at(-1) / SIZES[0]}× ratio`],
  names.map((name) => {
    const values = SIZES.map((size) => median(results.get(`${name}@${size}`)))
    return [name, ...values.map(us), (values.at(-1) / values[0]).toFixed(2)]
  }),
)

for (const { name, engine } of contenders) {
  if (name === "redis") await engine.delete("bench")
  await engine.close()
}
rmSync(root, { recursive: true, force: true })
