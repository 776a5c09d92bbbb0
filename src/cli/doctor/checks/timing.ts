import type { Evidence } from "../evidence.js"
import { FLUSH_FIX } from "../fixes.js"
import { seconds } from "../format.js"
import { type CheckResult, result } from "../verdict.js"

/** Headers later than this: the server is waiting for something before it answers. */
export const LATE_HEADERS_MS = 1000

/**
 * Time to headers against time to first event. A server that holds its headers until the first
 * event leaves EventSource in CONNECTING (no `open`), and an AI stream's first token can take a
 * minute — past a proxy's read timeout.
 */
export function checkTiming({ observation }: Evidence): CheckResult {
  const { headersMs, events } = observation
  if (headersMs === undefined) return result("timing", "skip", "no response")
  const first = events[0]?.atMs
  const firstEvent =
    first === undefined ? `no event in ${seconds(observation.watchedMs)}` : `first event after ${first} ms`
  if (headersMs > LATE_HEADERS_MS)
    return result(
      "timing",
      "warn",
      `headers after ${headersMs} ms (${firstEvent}): the server holds them back; flush them when the stream opens`,
      [FLUSH_FIX],
    )
  return result("timing", "pass", `headers after ${headersMs} ms, ${firstEvent}`)
}
