import type { Evidence } from "../evidence.js"
import { type CheckResult, result } from "../verdict.js"

/** Below this, a restart brings every client back at once. */
export const RETRY_MIN_MS = 1000
/** Above this, clients stay away long after a blip. */
export const RETRY_MAX_MS = 60_000

const FIX = [{ target: "server" as const, snippet: "retry: 3000   (in the first frame of the stream)" }]

/** The `retry:` hint: how long EventSource waits before reconnecting. */
export function checkRetry({ observation }: Evidence): CheckResult {
  if (observation.status === undefined) return result("retry", "skip", "no response")
  const retry = observation.retries.at(-1)
  if (retry === undefined)
    return result(
      "retry",
      "pass",
      "none sent: browsers wait their default (Chrome 3 s, Firefox 5 s) to reconnect",
    )
  if (retry < RETRY_MIN_MS)
    return result(
      "retry",
      "warn",
      `retry: ${retry} ms: after a restart every client reconnects within ${retry} ms, all at once`,
      FIX,
    )
  if (retry > RETRY_MAX_MS)
    return result(
      "retry",
      "warn",
      `retry: ${retry} ms: clients stay away that long after a dropped connection`,
      FIX,
    )
  return result("retry", "pass", `retry: ${retry} ms`)
}
