import type { Evidence } from "../evidence.js"
import { headerFix } from "../fixes.js"
import { type CheckResult, result } from "../verdict.js"

const FIX = headerFix("Content-Type: text/event-stream; charset=utf-8")

/** The MIME type essence must be `text/event-stream`, or EventSource fails for good. */
export function checkContentType({ observation }: Evidence): CheckResult {
  if (observation.status === undefined) return result("content-type", "skip", "no response")
  const value = observation.headers["content-type"]
  if (value === undefined)
    return result("content-type", "fail", "missing: EventSource fails and never reconnects", [FIX])
  const essence = value.split(";")[0]?.trim().toLowerCase()
  if (essence === "text/event-stream") return result("content-type", "pass", value)
  return result(
    "content-type",
    "fail",
    `${value}: EventSource accepts only text/event-stream, and fails without reconnecting`,
    [FIX],
  )
}
