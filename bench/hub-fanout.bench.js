// End-to-end fan-out through the hub against the server library's own raw broadcast (a Channel),
// in the same run: the hub's overhead as a ratio. Both serve ~100-byte events to N raw HTTP
// subscribers held by a separate load-client process (bench/server/).
//
// Per subscriber count (1k, 10k) and run:
//   - closed loop: one event per event-loop turn, each right after the previous fan-out;
//   - open loop: events offered at 10M deliveries/s, every event due in a turn published
//     together (Channel.publishBatch / one engine append);
//   - latency: 10 events/s for 3 s; publish→receive p50/p99 over every delivery.
// The hub's events enter through its engine's append (memory engine) and pass through the
// hub's dispatch: each subscriber's resume follower, its topic matchers and the private check.
//
// `HERALD_BENCH_RUNS=1 npm run bench -- hub-fanout` for a quick look.
import {
  describeFanoutRun,
  measureFanout as measure,
  printFanoutTable,
  runInterleaved,
} from "./server/harness.js"

const RUNS = Number(process.env.HERALD_BENCH_RUNS ?? 3)
const SIZES = (process.env.HERALD_BENCH_SIZES ?? "1000,10000").split(",").map(Number)
const CONTENDERS = ["herald", "hub"]
const LABELS = { herald: "server library (Channel)", hub: "hub (memory engine)" }
const results = await runInterleaved(SIZES, RUNS, measure, describeFanoutRun, CONTENDERS)

printFanoutTable({
  title: `Fan-out through the hub vs the raw broadcast (~100-byte events; median of ${RUNS} runs)`,
  results,
  sizes: SIZES,
  contenders: CONTENDERS,
  reference: "herald",
  ratioHeader: "hub ÷ raw",
  ratio: (raw, hub) => hub / raw,
  labels: LABELS,
})
