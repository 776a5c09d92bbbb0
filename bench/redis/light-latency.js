// Publish→receive latency at light load: a few subscribers, a steady trickle of events, through
// one server process of the fan-out harness (bench/server/). Every event counts: p50 and p99
// over all deliveries, after a warm-up that is not measured.
import { startCell } from "../server/harness.js"

const WARM_UP_MS = 1000

/** `contender` with `subscribers` subscribers, `rate` events/s for `durationMs`: p50, p99, lost. */
export async function measureLightLatency(contender, { subscribers, rate, durationMs }) {
  const cell = await startCell(contender, subscribers)
  try {
    await cell.clients.all("reset", { measureLatency: false })
    const warm = await cell.server.request("paced", { rate, durationMs: WARM_UP_MS })
    await cell.clients.all("wait", { expected: subscribers * warm.sent, timeoutMs: 10_000 })
    await cell.clients.all("reset", { measureLatency: true })
    const paced = await cell.server.request("paced", { rate, durationMs })
    const [latency] = await cell.clients.all("wait", {
      expected: subscribers * paced.sent,
      timeoutMs: 30_000,
    })
    return { p50: latency.p50, p99: latency.p99, lost: subscribers * paced.sent - latency.delivered }
  } finally {
    await cell.stop()
  }
}
