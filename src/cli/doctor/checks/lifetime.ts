import type { Evidence } from "../evidence.js"
import { seconds } from "../format.js"
import { type CheckResult, result } from "../verdict.js"

const KEEP_OPEN = [
  {
    target: "server" as const,
    snippet: "keep the response open: write events as they happen, never end() it after the first",
  },
]

/**
 * A live stream stays open. One that ends makes EventSource reconnect after `retry`: with no
 * event at all, that is a loop of empty requests.
 */
export function checkLifetime({ observation }: Evidence): CheckResult {
  const { status, endedMs, bodyError, headersMs, events } = observation
  if (status === undefined) return result("lifetime", "skip", "no response")
  const after = (at: number | undefined) => `${(at ?? 0) - (headersMs ?? 0)} ms`
  if (bodyError !== undefined) return result("lifetime", "fail", `the stream broke: ${bodyError}`)
  if (endedMs === undefined)
    return result("lifetime", "pass", `open for the whole watch (${seconds(observation.watchedMs)})`)
  if (events.length === 0)
    return result(
      "lifetime",
      "fail",
      `closed after ${after(endedMs)} with no event: EventSource reconnects every few seconds, forever, for nothing`,
      KEEP_OPEN,
    )
  return result(
    "lifetime",
    "warn",
    `ended after ${after(endedMs)} and ${events.length} event(s): right for a finite stream (an AI answer), not for a live feed`,
    KEEP_OPEN,
  )
}
