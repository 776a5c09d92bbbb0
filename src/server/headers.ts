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
 * @param httpVersionMajor - `1` adds `Connection: keep-alive`; HTTP/2 forbids connection-specific
 *   headers (RFC 9113 §8.2.2), so `2` (and the Fetch adapter, which cannot know) leaves it out.
 * @param extra - the application's own headers (CORS and the like); they override the defaults.
 */
export function sseHeaders(
  httpVersionMajor: number,
  extra?: Readonly<Record<string, string>>,
): Record<string, string> {
  const headers: Record<string, string> = { ...STREAM_HEADERS }
  if (httpVersionMajor === 1) headers.connection = "keep-alive"
  if (extra !== undefined)
    for (const [name, value] of Object.entries(extra)) headers[name.toLowerCase()] = value
  return headers
}
