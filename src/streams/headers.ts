/** Response headers shared by every operation: browser security, caching, entity tags. */

/** Protocol section 12.7, on every response (errors included). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "x-content-type-options": "nosniff",
  "cross-origin-resource-policy": "cross-origin",
})

/** HEAD, `offset=now`, and reads that returned no data: a tail offset or a closure must never be served stale. */
export const NO_STORE = "no-store"

/**
 * Reads that returned data (protocol section 8.1): caches may keep what a URL answers for good —
 * a range that stopped short of the tail, one that reaches a closed stream's end, or a long-poll
 * (its cursor changes the URL as time passes). `private` when the data may be one user's.
 *
 * A catch-up read that reaches the tail of an open stream is answered again, with more, once
 * more is appended: kept for 60 s it would tell a reader it is up to date with what it is not (a
 * browser reading twice would see the old end). Caches revalidate it instead, and an unchanged
 * range answers 304 to its entity tag.
 */
export function dataCacheControl(lasting: boolean, restricted: boolean): string {
  if (!lasting) return "no-cache"
  return `${restricted ? "private" : "public"}, max-age=60, stale-while-revalidate=300`
}

/**
 * The entity tag of a read: the range it covers, and where that range ends — at a closed stream's
 * end (`:c`), short of the tail (`:m`), or at an open stream's tail — so that a range whose bytes
 * are the same but whose `Stream-Up-To-Date` or `Stream-Closed` changed is never answered 304.
 */
export function entityTag(from: string, next: string, end: "closed" | "more" | "tail"): string {
  return `"${from}:${next}${end === "closed" ? ":c" : end === "more" ? ":m" : ""}"`
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
