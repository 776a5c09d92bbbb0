// Broadcast fan-out: Herald's Channel vs better-sse's Channel vs a plain node:http loop writing a
// pre-serialized string to every response. Each contender runs in its own server process; the
// subscribers are raw HTTP connections held by a separate load-client process (bench/server/).
//
// Per subscriber count (1k, 5k, 10k) and run:
//   - closed loop: events published one per event-loop turn, each right after the previous
//     fan-out returns (no two events ever go out together);
//   - open loop: events offered at 10M deliveries/s whatever the server's speed, as by a
//     publisher fed from outside; each turn publishes every event due — with Herald's
//     `publishBatch`, and one `broadcast`/write loop per event for the peers (whose
//     `res.write`s within one tick Node corks into one system call per socket);
//     deliveries/s = events received by all subscribers / (last receive − first publish);
//   - latency: 10 events/s for 3 s; publish→receive p50/p99 over every delivery;
//   - server CPU (user + system, all threads) per delivery in the closed loop: the capacity
//     figure least disturbed by other work on a shared machine.
// Runs interleave the contenders so machine noise spreads evenly; the table shows medians.
//
// `HERALD_BENCH_RUNS=1 npm run bench -- server-fanout` for a quick look.
import { CONTENDERS, measureFanout as measure, median, PACED_RATE, runInterleaved } from "./server/harness.js"

const RUNS = Number(process.env.HERALD_BENCH_RUNS ?? 3)
const SIZES = (process.env.HERALD_BENCH_SIZES ?? "1000,5000,10000").split(",").map(Number)

const results = await runInterleaved(
  SIZES,
  RUNS,
  measure,
  (result) =>
    `closed ${Math.round(result.closed)} / open ${Math.round(result.open)} deliveries/s, ` +
    `server CPU ${result.closedCpu.toFixed(2)} µs/delivery, ` +
    `p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, lost ${result.lost}`,
)

const format = (value) => Math.round(value).toLocaleString("en-US")
const ratio = (herald, peer) => `${(herald / peer).toFixed(2)}×`
console.log(`\n### Broadcast fan-out (~100-byte events; median of ${RUNS} runs)\n`)
console.log(
  "| subscribers | contender | deliveries/s, closed loop | Herald ÷ | server CPU µs/delivery, closed loop | " +
    "deliveries/s, open loop | Herald ÷ | " +
    `p50 ms @${PACED_RATE}/s | p99 ms @${PACED_RATE}/s | lost |`,
)
console.log("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for (const n of SIZES) {
  const heraldRuns = results.get(`herald@${n}`)
  const heraldClosed = median(heraldRuns.map((r) => r.closed))
  const heraldOpen = median(heraldRuns.map((r) => r.open))
  for (const contender of CONTENDERS) {
    const runs = results.get(`${contender}@${n}`)
    const closed = median(runs.map((r) => r.closed))
    const open = median(runs.map((r) => r.open))
    const self = contender === "herald"
    console.log(
      `| ${format(n)} | ${contender} | ${format(closed)} | ${self ? "—" : ratio(heraldClosed, closed)} | ` +
        `${median(runs.map((r) => r.closedCpu)).toFixed(2)} | ` +
        `${format(open)} | ${self ? "—" : ratio(heraldOpen, open)} | ${median(runs.map((r) => r.p50)).toFixed(1)} | ` +
        `${median(runs.map((r) => r.p99)).toFixed(1)} | ${runs.reduce((sum, r) => sum + r.lost, 0)} |`,
    )
  }
}
