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
import {
  CONTENDERS,
  describeFanoutRun,
  measureFanout as measure,
  median,
  printFanoutTable,
  runInterleaved,
} from "./server/harness.js"

const RUNS = Number(process.env.HERALD_BENCH_RUNS ?? 3)
const SIZES = (process.env.HERALD_BENCH_SIZES ?? "1000,5000,10000").split(",").map(Number)

/** The three contenders, then the floor (see server.js): the ceiling any Node server reaches here. */
const contenders = [...CONTENDERS, "floor"]

const results = await runInterleaved(SIZES, RUNS, measure, describeFanoutRun, contenders)

printFanoutTable({
  title: `Broadcast fan-out (~100-byte events; median of ${RUNS} runs)`,
  results,
  sizes: SIZES,
  contenders,
  reference: "herald",
  ratioHeader: "Herald ÷",
  ratio: (herald, peer) => herald / peer,
  extraColumns: [
    {
      header: "server CPU µs/delivery, closed loop",
      value: (runs) => median(runs.map((run) => run.closedCpu)).toFixed(2),
    },
  ],
})
