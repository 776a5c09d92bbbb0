/** The response headers an endpoint may pass on with an upstream's refusal: when to retry, and the rate limits. */
const PASS_THROUGH_HEADER = /^(retry-after|retry-after-ms|x-ratelimit-.*|anthropic-ratelimit-.*)$/

/** The most bytes of an upstream's error body kept: an error body is small, a hostile one is not. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024

/**
 * The upstream refused or failed before its stream began: an HTTP error status (401, 429, 500…),
 * a connection that could not be made, or a 2xx answer that is not an event stream. Thrown by a
 * provider's `stream` before any entry, so an endpoint can pass the refusal through in its own
 * error shape, with the same status and `retry-after`.
 */
export class UpstreamRequestError extends Error {
  override readonly name = "UpstreamRequestError"
  /**
   * The upstream's HTTP status; `undefined` when there was no answer (connection refused, DNS).
   * A status below 400 means it answered, but not with an event stream: a bad gateway.
   */
  readonly status: number | undefined
  /** The upstream's error body: the parsed JSON (`{"error": {...}}`) or, when not JSON, its text. */
  readonly body: unknown
  /** How long the upstream asked to wait (`retry-after-ms`, or `retry-after` in seconds or as a date). */
  readonly retryAfterMs: number | undefined
  /** `retry-after*` and rate-limit headers (`x-ratelimit-*`, `anthropic-ratelimit-*`), lower-cased, to pass on. */
  readonly headers: Record<string, string>

  constructor(
    message: string,
    details: { status?: number; body?: unknown; headers?: Headers; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause })
    this.status = details.status
    this.body = details.body
    this.headers = {}
    details.headers?.forEach((value, name) => {
      if (PASS_THROUGH_HEADER.test(name)) this.headers[name] = value
    })
    this.retryAfterMs = retryAfterMs(this.headers)
  }
}

function retryAfterMs(headers: Record<string, string>): number | undefined {
  const milliseconds = Number(headers["retry-after-ms"])
  if (headers["retry-after-ms"] !== undefined && Number.isFinite(milliseconds))
    return Math.max(0, milliseconds)
  const value = headers["retry-after"]
  if (value === undefined) return undefined
  // RFC 9110 §10.2.3: `Retry-After = HTTP-date / delay-seconds`.
  const seconds = Number(value)
  if (value.trim() !== "" && Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now())
}
