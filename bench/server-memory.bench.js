// Memory per idle SSE connection: Herald vs better-sse vs a plain node:http loop. Each contender
// runs in a fresh server process; load clients in separate processes open N idle subscriptions;
// the server's RSS after a full GC, minus its RSS before any connection, divided by N.
//
// 20 000 is out of reach here: the fd limit is 20 000 per process (hard limit, cannot be raised
// in this container), and the server needs a few fds besides the sockets, so the large cell is
// 19 900 connections.
import {
  CONTENDERS,
  describeMemory,
  idleMemoryPerConnection,
  printMemoryTable,
  runInterleaved,
  startCell,
} from "./server/harness.js"

const RUNS = Number(process.env.HERALD_BENCH_RUNS ?? 3)
const SIZES = (process.env.HERALD_BENCH_MEMORY_SIZES ?? "10000,19900").split(",").map(Number)
/** Connections per load-client process (each needs one fd per connection too). */
const PER_CLIENT = 10_000

async function measure(contender, n) {
  const cell = await startCell(contender, n, Math.ceil(n / PER_CLIENT))
  try {
    return await idleMemoryPerConnection(cell, n)
  } finally {
    await cell.stop()
  }
}

const results = await runInterleaved(SIZES, RUNS, measure, describeMemory)

printMemoryTable({
  title: `Memory per idle connection (median of ${RUNS} runs)`,
  results,
  sizes: SIZES,
  contenders: CONTENDERS,
  reference: "herald",
})
