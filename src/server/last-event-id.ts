import { fromHeaderValue } from "../protocol/header-value.js"

/** Query parameters read when a client could not send the `Last-Event-ID` header (e.g. a first connection from a fresh EventSource). */
export const DEFAULT_LAST_EVENT_ID_PARAMS: readonly string[] = Object.freeze(["lastEventId", "lastEventID"])

/**
 * The client's resume cursor: the `Last-Event-ID` header, else the first of `queryParams`
 * present in the URL, else `""` (a fresh subscription).
 *
 * HTTP stacks hand header values over as Latin-1 byte strings, while EventSource sends the ID
 * UTF-8 encoded ("UTF-8 encoded; non-ASCII must round-trip"), so the header is read with
 * {@link fromHeaderValue}: UTF-8, or Latin-1 where the bytes are not UTF-8.
 */
export function readLastEventId(
  header: string | string[] | null | undefined,
  url: string | undefined,
  queryParams: readonly string[] = DEFAULT_LAST_EVENT_ID_PARAMS,
): string {
  const value = Array.isArray(header) ? header[0] : header
  if (value !== undefined && value !== null && value !== "") return fromHeaderValue(value)
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
