/** Response headers shared by every operation: browser security, caching, entity tags. */

/** Protocol section 12.7, on every response (errors included). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "x-content-type-options": "nosniff",
  "cross-origin-resource-policy": "cross-origin",
})

/** HEAD, `offset=now`, and reads that returned no data: a tail offset or a closure must never be served stale. */
export const NO_STORE = "no-store"

/**
 * Reads that returned data (protocol section 10.1): a range of appends never changes, so shared
 * caches may keep it. `private` when the handler checks tokens: the data may be user-specific.
 */
export function dataCacheControl(authenticated: boolean): string {
  return `${authenticated ? "private" : "public"}, max-age=60, stale-while-revalidate=300`
}

/**
 * The entity tag of a read: the range it covers, and whether it reports the closure (so that a
 * stream closed since cannot be answered 304 and hide its end).
 */
export function entityTag(from: string, next: string, closed: boolean): string {
  return `"${from}:${next}${closed ? ":c" : ""}"`
}

/** Whether an `If-None-Match` header names `tag` (or is `*`). */
export function matchesEntityTag(header: string | undefined, tag: string): boolean {
  if (header === undefined) return false
  for (const candidate of header.split(",")) {
    const value = candidate.trim().replace(/^W\//, "")
    if (value === tag || value === "*") return true
  }
  return false
}
