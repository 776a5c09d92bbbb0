// SSE or WebSocket? Herald's broadcast (herald/server: createSSE + a Channel, as in
// server-fanout.bench.js) against `ws` broadcasting the same events the way its README shows
// (for each client, if OPEN, send): once with the data string as is, once tuned by hand (one
// Buffer per event; events that arrive together joined into one message, as Herald batches them).
// Same harness as the server benchmarks (bench/server/): each contender in a fresh server
// process, N raw-socket subscribers in a load-client process that counts SSE `data:` lines or
// WebSocket frames, every event carrying the same ~80 bytes of data.
//
// Per subscriber count and run, in one cell: memory per idle connection (after GC, before any
// event), then the fan-out rows of server-fanout.bench.js — closed loop, open loop, latency at
// 10 events/s, server CPU per delivery — and how busy the server and the load client were.
// Runs interleave the contenders; tables show medians and Herald ÷ ws ratios from the same run.
//
// `HERALD_BENCH_SIZES=1000 HERALD_BENCH_RUNS=1 npm run bench -- vs-websocket` for a quick look.
import {
  describeFanoutRun,
  measureFanout,
  median,
  printFanoutTable,
  printMemoryTable,
  runInterleaved,
} from "./server/harness.js"

const RUNS = Number(process.env.HERALD_BENCH_RUNS ?? 3)
const SIZES = (process.env.HERALD_BENCH_SIZES ?? "1000,10000").split(",").map(Number)

const contenders = ["herald", "ws", "ws-buffer"]
const labels = { herald: "Herald (SSE)", ws: "ws, string", "ws-buffer": "ws, Buffer + batch" }

const results = await runInterleaved(
  SIZES,
  RUNS,
  (contender, n) => measureFanout(contender, n, { idleMemory: true }),
  describeFanoutRun,
  contenders,
)

const medianOf = (runs, key) => median(runs.map((run) => run[key]))
/**
 * Server CPU µs per delivery, then Herald's advantage in it (the peer's CPU ÷ Herald's: above 1,
 * Herald delivers more per CPU-second). Unlike deliveries/s, which swing with whatever else runs
 * on a shared machine, CPU per delivery barely moves, so this is the ratio to read there.
 */
const cpuColumns = (phase, key) => [
  { header: `server CPU µs/delivery, ${phase}`, value: (runs) => medianOf(runs, key).toFixed(2) },
  {
    header: "deliveries per CPU-second, Herald ÷",
    value: (runs, heraldRuns) =>
      runs === heraldRuns ? "—" : `${(medianOf(runs, key) / medianOf(heraldRuns, key)).toFixed(2)}×`,
  },
]

printFanoutTable({
  title: `SSE vs WebSocket: broadcast fan-out (~80 bytes of data per event; median of ${RUNS} runs)`,
  results,
  sizes: SIZES,
  contenders,
  labels,
  reference: "herald",
  ratioHeader: "Herald ÷",
  ratio: (herald, peer) => herald / peer,
  extraColumns: [...cpuColumns("closed loop", "closedCpu"), ...cpuColumns("open loop", "openCpu")],
})

printMemoryTable({
  title: `SSE vs WebSocket: memory per idle connection (median of ${RUNS} runs)`,
  results,
  sizes: SIZES,
  contenders,
  labels,
  reference: "herald",
})

// The check that the load client did not set the pace: CPU time ÷ wall time of each throughput
// phase (1.00 = one core busy all the time), medians.
console.log(`\n### Who was busy: CPU time ÷ wall time during the throughput phases (1.00 = one core)\n`)
console.log(
  "| subscribers | contender | server, closed loop | client, closed loop | server, open loop | client, open loop |",
)
console.log("|---:|---|---:|---:|---:|---:|")
for (const n of SIZES) {
  for (const contender of contenders) {
    const runs = results.get(`${contender}@${n}`)
    const loads = ["closedServerLoad", "closedClientLoad", "openServerLoad", "openClientLoad"]
    const cells = [
      n.toLocaleString("en-US"),
      labels[contender],
      ...loads.map((key) => medianOf(runs, key).toFixed(2)),
    ]
    console.log(`| ${cells.join(" | ")} |`)
  }
}
