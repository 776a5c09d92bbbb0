import { clippedReason, jsonReason } from "../../../client/refusal.js"
import { bearerParams, whereTheTokenCameFrom } from "../../http-errors.js"
import type { Evidence } from "../evidence.js"
import { BUFFERING_FIXES, FLUSH_FIX, TOKEN_FIX } from "../fixes.js"
import type { Observation } from "../observation.js"
import { type CheckResult, result } from "../verdict.js"

/** The status: EventSource accepts exactly 200 and fails for good on anything else. */
export function checkResponse({ observation, mercure, subscriberTokenSource }: Evidence): CheckResult {
  const { status, connectError, headers } = observation
  if (connectError !== undefined && observation.headersTimedOut === true)
    return result(
      "response",
      "fail",
      `no response: ${connectError}. A proxy that buffers (nginx's proxy_buffering is on by default) holds the headers with the first events until its buffer fills, or the server has not flushed them`,
      [FLUSH_FIX, ...BUFFERING_FIXES],
    )
  if (connectError !== undefined) return result("response", "fail", `no response: ${connectError}`)
  if (status === 200) return result("response", "pass", "200")
  if (status !== undefined && status >= 300 && status < 400 && headers.location !== undefined)
    return result(
      "response",
      "warn",
      `${status}, redirecting to ${headers.location}: EventSource follows it, the doctor does not — run it on that URL`,
    )
  const detail = serverSays(observation)
  const refused = mercure === true && (status === 401 || status === 403)
  return result(
    "response",
    "fail",
    `${status}: EventSource fails on any status but 200 and never reconnects (204 is how a server says "stop")` +
      (detail === undefined ? "" : `; the server says: ${detail}`) +
      (refused ? `; ${whereTheTokenCameFrom(subscriberTokenSource)}` : ""),
    refused ? [TOKEN_FIX] : [],
  )
}

/**
 * Why the server refused: the `error_description` (else `error`) of a Bearer challenge in
 * `WWW-Authenticate`, where Mercure hubs and OAuth servers say it (RFC 6750 §3), else from the
 * body of its answer: a problem document's (RFC 9457) `detail` (else its `title`), a JSON error's
 * `message` or `error`, else the text (an HTML page's without its tags), on one line, cut as the
 * client cuts a reason ({@link clippedReason}).
 */
function serverSays(observation: Pick<Observation, "errorBody" | "headers">): string | undefined {
  const challenge = bearerParams(observation.headers["www-authenticate"] ?? null)
  const challenged = challenge.error_description ?? challenge.error
  if (challenged !== undefined && challenged.trim() !== "") return clippedReason(challenged.trim())
  const body = observation.errorBody
  if (body === undefined || body.trim() === "") return undefined
  const type = observation.headers["content-type"]?.toLowerCase() ?? ""
  let text = body
  if (type.includes("json")) text = jsonReason(body) ?? body
  else if (type.includes("html"))
    text = body.replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, " ").replace(/<[^>]*>/g, " ")
  const line = text.replace(/\s+/g, " ").trim()
  if (line === "") return undefined
  return clippedReason(line)
}
