/** Query parameters read when a client could not send the `Last-Event-ID` header (e.g. a first connection from a fresh EventSource). */
export const DEFAULT_LAST_EVENT_ID_PARAMS: readonly string[] = Object.freeze(["lastEventId", "lastEventID"])

const utf8 = new TextDecoder()

/**
 * The client's resume cursor: the `Last-Event-ID` header, else the first of `queryParams`
 * present in the URL, else `""` (a fresh subscription).
 *
 * HTTP stacks hand header values over as Latin-1 byte strings, while EventSource sends the ID
 * UTF-8 encoded ("UTF-8 encoded; non-ASCII must round-trip"), so non-ASCII header values are
 * re-decoded as UTF-8 here.
 */
export function readLastEventId(
  header: string | string[] | null | undefined,
  url: string | undefined,
  queryParams: readonly string[] = DEFAULT_LAST_EVENT_ID_PARAMS,
): string {
  const value = Array.isArray(header) ? header[0] : header
  if (value !== undefined && value !== null && value !== "") return latin1ToUtf8(value)
  if (url === undefined || url.indexOf("?") === -1 || queryParams.length === 0) return ""
  let search: URLSearchParams
  try {
    search = new URL(url, "http://localhost").searchParams
  } catch {
    // An unparsable request target carries no usable cursor; never let it throw into the server.
    return ""
  }
  for (const name of queryParams) {
    const fromQuery = search.get(name)
    if (fromQuery !== null) return fromQuery
  }
  return ""
}

function latin1ToUtf8(value: string): string {
  // Fast path: plain ASCII is the same in both encodings.
  if (!/[\u0080-\uffff]/.test(value)) return value
  const bytes = Uint8Array.from(value, (char) => char.charCodeAt(0) & 0xff)
  return utf8.decode(bytes)
}
