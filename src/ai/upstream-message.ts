import { isRecord } from "./sse-over-http.js"
import type { UpstreamRequestError } from "./upstream-error.js"

/**
 * Whether the upstream refused the server's own key (401, or a proxy's 407): only the operator
 * can fix it. A 403 is not always about the key (OpenRouter's moderation, OpenAI's regions).
 */
export function keyRefused(error: UpstreamRequestError): boolean {
  return error.status === 401 || error.status === 407
}

/**
 * The status a client gets for its upstream's refusal: the upstream's own when it is about the
 * request (a 4xx or 5xx a client can act on: a bad field, a rate limit), 502 when it is not: no
 * answer, an answer that is no refusal, or a refused key, which an SDK would otherwise take for
 * its own token's.
 */
export function upstreamRefusalStatus(error: UpstreamRequestError): number {
  const status = error.status
  return status === undefined || status < 400 || keyRefused(error) ? 502 : status
}

/**
 * What to tell a client whose request the upstream of `model` refused: the upstream's own message
 * when its error body has one (OpenAI's and Anthropic's `error.message`, vLLM's `message`), else
 * ours; a refused key is the operator's to fix, and the message says so.
 */
export function upstreamErrorMessage(error: UpstreamRequestError, model: string): string {
  const upstream = `The upstream of model "${model}"`
  if (error.status === undefined) return `${upstream} could not be reached: ${causeOf(error)}.`
  if (error.status < 400) return `${upstream} sent no event stream: ${error.message}.`
  const said = upstreamMessageOf(error.body)
  const param = innerError(error.body)?.param
  const field = typeof param === "string" && param !== "" ? ` (its field \`${param}\`)` : ""
  const saying = said === undefined ? (field === "" ? "" : `${field}.`) : `: ${said}${field}`
  return keyRefused(error)
    ? `${upstream} refused the key the server sent it (HTTP ${error.status}), which only the server's operator can fix${saying}`
    : `${upstream} refused the request (HTTP ${error.status})${saying || "."}`
}

/**
 * The code an upstream's refusal gives (OpenAI's `error.code`), for a client that speaks the
 * upstream's format. Not its `param`: that names a field of the request Herald sent, whose
 * indices and names need not be the client's (system messages joined, `max_tokens` renamed);
 * the message says it instead.
 */
export function upstreamErrorCode(error: UpstreamRequestError): { code?: string } {
  const code = innerError(error.body)?.code
  return typeof code === "string" && code !== "" ? { code } : {}
}

/** The `error` object of an OpenAI- or Anthropic-shaped error body. */
function innerError(body: unknown): Record<string, unknown> | undefined {
  return isRecord(body) && isRecord(body.error) ? body.error : undefined
}

function upstreamMessageOf(body: unknown): string | undefined {
  const message = innerError(body)?.message ?? (isRecord(body) ? body.message : undefined)
  return typeof message === "string" && message !== "" ? message : undefined
}

/** Why the upstream could not be reached: the connection's own error, without our wrapping. */
function causeOf(error: UpstreamRequestError): string {
  const cause = error.cause
  return cause instanceof Error && cause.message !== "" ? cause.message : error.message
}
