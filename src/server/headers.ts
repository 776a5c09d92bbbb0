/**
 * The response headers of an SSE stream, per SSE-RULES.md "Serving".
 *
 * `no-transform` stops compression middleware and proxies from holding events back;
 * `X-Accel-Buffering: no` turns off nginx's response buffering for this response.
 */
const STREAM_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
})

/**
 * Headers for an SSE response.
 *
 * @param httpVersion - the request's version: `"1.1"` adds `Connection: keep-alive`. HTTP/2
 *   forbids connection-specific headers (RFC 9113 §8.2.2), an HTTP/1.0 stream ends with the
 *   connection anyway, and the Fetch adapter cannot know — so those leave it out.
 * @param extra - the application's own headers (CORS and the like); they override the defaults.
 */
export function sseHeaders(
  httpVersion: string | undefined,
  extra?: Readonly<Record<string, string>>,
): Record<string, string> {
  const headers: Record<string, string> = { ...STREAM_HEADERS }
  if (httpVersion === "1.1") headers.connection = "keep-alive"
  if (extra !== undefined)
    for (const [name, value] of Object.entries(extra)) headers[name.toLowerCase()] = value
  return headers
}
