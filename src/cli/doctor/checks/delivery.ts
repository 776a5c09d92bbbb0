import type { Evidence } from "../evidence.js"
import { BUFFERING_FIXES } from "../fixes.js"
import { type CheckResult, result } from "../verdict.js"

/** Publish-to-receive latency above this is worth a look; above {@link LATENCY_FAIL_MS}, something holds events. */
export const LATENCY_WARN_MS = 500
export const LATENCY_FAIL_MS = 2000

/** End to end: every probe the doctor published arrives, once, in order, soon. */
export function checkDelivery({ probe, observation }: Evidence): CheckResult {
  if (probe === undefined) return result("delivery", "skip", "not a Mercure hub: no probe published")
  if (probe.error !== undefined)
    return result("delivery", "warn", `could not publish the probes: ${probe.error}`)
  const arrivals = new Map<string, number[]>()
  for (const { event, atMs } of observation.events)
    arrivals.set(event.data, [...(arrivals.get(event.data) ?? []), atMs])
  const missing = probe.sent.filter((sent) => !arrivals.has(sent.data))
  if (missing.length > 0)
    return result(
      "delivery",
      "fail",
      `${missing.length} of ${probe.sent.length} probes published on ${probe.topic} never arrived`,
      BUFFERING_FIXES,
    )
  if (probe.sent.some((sent) => (arrivals.get(sent.data)?.length ?? 0) > 1))
    return result("delivery", "fail", "a probe arrived twice")
  const latencies = probe.sent.map((sent) => (arrivals.get(sent.data)?.[0] ?? 0) - sent.sentMs)
  const firstArrivals = probe.sent.map((sent) => arrivals.get(sent.data)?.[0] ?? 0)
  if (firstArrivals.some((at, index) => index > 0 && at < (firstArrivals[index - 1] ?? 0)))
    return result("delivery", "fail", "probes arrived out of the order they were published in")
  const sorted = [...latencies].sort((a, b) => a - b)
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0
  const worst = sorted.at(-1) ?? 0
  const summary = `${probe.sent.length} probes, publish → receive median ${median} ms, worst ${worst} ms`
  if (worst > LATENCY_FAIL_MS) return result("delivery", "fail", summary, BUFFERING_FIXES)
  if (worst > LATENCY_WARN_MS) return result("delivery", "warn", summary, BUFFERING_FIXES)
  return result("delivery", "pass", summary)
}
