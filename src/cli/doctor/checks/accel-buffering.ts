import type { Evidence } from "../evidence.js"
import { BUFFERING_FIXES } from "../fixes.js"
import { type CheckResult, result } from "../verdict.js"

/**
 * `X-Accel-Buffering: no` turns off nginx's response buffering for this response. nginx consumes
 * the header, so behind nginx its absence proves nothing: the `bursts` check judges by arrival.
 */
export function checkAccelBuffering({ observation }: Evidence): CheckResult {
  if (observation.status === undefined) return result("x-accel-buffering", "skip", "no response")
  const value = observation.headers["x-accel-buffering"]?.trim().toLowerCase()
  if (value === "no") return result("x-accel-buffering", "pass", "no")
  if (value !== undefined)
    return result(
      "x-accel-buffering",
      "fail",
      `"${value}": asks nginx to buffer the stream, holding events until a buffer fills`,
      BUFFERING_FIXES,
    )
  if (/nginx/i.test(observation.headers.server ?? ""))
    return result(
      "x-accel-buffering",
      "pass",
      "not seen, as expected behind nginx (which consumes it); buffering is judged by arrival times (bursts)",
    )
  return result(
    "x-accel-buffering",
    "warn",
    "missing: an nginx put in front of this server would buffer the stream (proxy_buffering is on by default)",
    BUFFERING_FIXES.filter((fix) => fix.target === "server"),
  )
}
