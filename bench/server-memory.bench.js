// Memory per idle SSE connection: Herald vs better-sse vs a plain node:http loop. Each contender
// runs in a fresh server process; load clients in separate processes open N idle subscriptions;
// the server's RSS after a full GC, minus its RSS before any connection, divided by N.
//
// 20 000 is out of reach here: the fd limit is 20 000 per process (hard limit, cannot be raised
// in this container), and the server needs a few fds besides the sockets, so the large cell is
// 19 900 connections.
import { CONTENDERS, median, runInterleaved, startCell } from "./server/harness.js"

const RUNS = Number(process.env.HERALD_BENCH_RUNS ?? 3)
const SIZES = (process.env.HERALD_BENCH_MEMORY_SIZES ?? "10000,19900").split(",").map(Number)
/** Connections per load-client process (each needs one fd per connection too). */
const PER_CLIENT = 10_000

async function measure(contender, n) {
  const cell = await startCell(contender, n, Math.ceil(n / PER_CLIENT))
  try {
    await new Promise((resolve) => setTimeout(resolve, 500))
    const after = await cell.server.request("rss")
    return {
      rssPerConnection: (after.rss - cell.baseline.rss) / n,
      heapPerConnection: (after.heapUsed - cell.baseline.heapUsed) / n,
    }
  } finally {
    await cell.stop()
  }
}

const results = await runInterleaved(
  SIZES,
  RUNS,
  measure,
  (result) =>
    `${(result.rssPerConnection / 1024).toFixed(2)} KiB RSS, ` +
    `${(result.heapPerConnection / 1024).toFixed(2)} KiB heap per connection`,
)

console.log(`\n### Memory per idle connection (median of ${RUNS} runs)\n`)
console.log(
  "| connections | contender | RSS per connection | JS heap per connection | Herald ÷ contender (RSS) |",
)
console.log("|---:|---|---:|---:|---:|")
for (const n of SIZES) {
  const herald = median(results.get(`herald@${n}`).map((r) => r.rssPerConnection))
  for (const contender of CONTENDERS) {
    const runs = results.get(`${contender}@${n}`)
    const rss = median(runs.map((r) => r.rssPerConnection))
    const heap = median(runs.map((r) => r.heapPerConnection))
    const ratio = contender === "herald" ? "—" : `${(herald / rss).toFixed(2)}`
    console.log(
      `| ${n.toLocaleString("en-US")} | ${contender} | ${(rss / 1024).toFixed(2)} KiB | ${(heap / 1024).toFixed(2)} KiB | ${ratio} |`,
    )
  }
}
