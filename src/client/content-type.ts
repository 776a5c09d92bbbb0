/**
 * Whether a `Content-Type` header value has the MIME type essence `text/event-stream`.
 * Parameters are ignored: the spec decodes the body as UTF-8 whatever `charset` says.
 */
export function isEventStreamContentType(value: string | null): boolean {
  if (value === null) return false
  const semicolon = value.indexOf(";")
  const essence = (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase()
  return essence === "text/event-stream"
}
