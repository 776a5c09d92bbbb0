import type { Evidence } from "../evidence.js"
import { type CheckResult, result } from "../verdict.js"

/** The status: EventSource accepts exactly 200 and fails for good on anything else. */
export function checkResponse({ observation }: Evidence): CheckResult {
  const { status, connectError, headers } = observation
  if (connectError !== undefined) return result("response", "fail", `no response: ${connectError}`)
  if (status === 200) return result("response", "pass", "200")
  if (status !== undefined && status >= 300 && status < 400 && headers.location !== undefined)
    return result(
      "response",
      "warn",
      `${status}, redirecting to ${headers.location}: EventSource follows it, the doctor does not — run it on that URL`,
    )
  return result(
    "response",
    "fail",
    `${status}: EventSource fails on any status but 200 and never reconnects (204 is how a server says "stop")`,
  )
}
