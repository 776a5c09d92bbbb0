// Broadcast fan-out: Herald's Channel vs better-sse's Channel vs a plain node:http loop writing a
// pre-serialized string to every response. Each contender runs in its own server process; the
// subscribers are raw HTTP connections held by a separate load-client process (bench/server/).
//
// Per subscriber count (1k, 5k, 10k) and run:
//   - throughput: a burst of events published back to back (yielding to I/O between them);
//     deliveries/s = events received by all subscribers / (last receive − first publish);
//   - latency: 10 events/s for 3 s; publish→receive p50/p99 over every delivery.
// Runs interleave the contenders so machine noise spreads evenly; the table shows medians.
//
// `HERALD_BENCH_RUNS=1 npm run bench -- server-fanout` for a quick look.
import { CONTENDERS, median, startCell } from "./server/harness.js"

const RUNS = Number(process.env.HERALD_BENCH_RUNS ?? 3)
const SIZES = (process.env.HERALD_BENCH_SIZES ?? "1000,5000,10000").split(",").map(Number)
const BURST_DELIVERIES = 300_000
const PACED_RATE = 10
const PACED_MS = 3000

async function measure(contender, n) {
  const cell = await startCell(contender, n)
  try {
    const events = Math.ceil(BURST_DELIVERIES / n)
    await cell.clients.all("reset", { measureLatency: false })
    const burst = await cell.server.request("burst", { events })
    const [received] = await cell.clients.all("wait", { expected: n * events, timeoutMs: 60_000 })
    const seconds = (received.lastDeliveryAt - burst.startedAt) / 1e6
    const throughput = received.delivered / seconds

    await cell.clients.all("reset", { measureLatency: true })
    const paced = await cell.server.request("paced", { rate: PACED_RATE, durationMs: PACED_MS })
    const [latency] = await cell.clients.all("wait", { expected: n * paced.sent, timeoutMs: 30_000 })
    return {
      throughput,
      lost: n * events - received.delivered + (n * paced.sent - latency.delivered),
      p50: latency.p50,
      p99: latency.p99,
    }
  } finally {
    await cell.stop()
  }
}

const results = new Map()
for (const n of SIZES) {
  for (let run = 0; run < RUNS; run++) {
    for (const contender of CONTENDERS) {
      const result = await measure(contender, n)
      const key = `${contender}@${n}`
      if (!results.has(key)) results.set(key, [])
      results.get(key).push(result)
      console.error(
        `  run ${run + 1} ${contender} n=${n}: ${Math.round(result.throughput)} deliveries/s, ` +
          `p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, lost ${result.lost}`,
      )
    }
  }
}

const format = (value) => Math.round(value).toLocaleString("en-US")
console.log(
  `\n### Broadcast fan-out (~100-byte events; median of ${RUNS} runs; latency at ${PACED_RATE} events/s)\n`,
)
console.log("| subscribers | contender | deliveries/s | Herald ÷ contender | p50 ms | p99 ms | lost |")
console.log("|---:|---|---:|---:|---:|---:|---:|")
for (const n of SIZES) {
  const heraldThroughput = median(results.get(`herald@${n}`).map((r) => r.throughput))
  for (const contender of CONTENDERS) {
    const runs = results.get(`${contender}@${n}`)
    const throughput = median(runs.map((r) => r.throughput))
    const ratio = contender === "herald" ? "—" : `${(heraldThroughput / throughput).toFixed(2)}×`
    console.log(
      `| ${format(n)} | ${contender} | ${format(throughput)} | ${ratio} | ${median(runs.map((r) => r.p50)).toFixed(1)} | ` +
        `${median(runs.map((r) => r.p99)).toFixed(1)} | ${runs.reduce((sum, r) => sum + r.lost, 0)} |`,
    )
  }
}
