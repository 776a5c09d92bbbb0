import type { Evidence } from "../evidence.js"
import { type CheckResult, result } from "../verdict.js"

/** `Connection` is forbidden on HTTP/2 (RFC 9113 §8.2.2): browsers treat it as a malformed response. */
export function checkConnection({ observation }: Evidence): CheckResult {
  const { httpVersion, headers } = observation
  if (httpVersion === undefined) return result("connection", "skip", "no response")
  const value = headers.connection
  if (httpVersion !== "2")
    return result(
      "connection",
      "pass",
      `HTTP/${httpVersion}${value === undefined ? "" : `, Connection: ${value}`}`,
    )
  if (value === undefined) return result("connection", "pass", "HTTP/2, no connection-specific header")
  return result(
    "connection",
    "fail",
    `Connection: ${value} on HTTP/2, where it is forbidden: browsers reject the response`,
    [
      {
        target: "server",
        snippet: "send Connection: keep-alive only on HTTP/1.1 (herald/server's sseHeaders does)",
      },
    ],
  )
}
