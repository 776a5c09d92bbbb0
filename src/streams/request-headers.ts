import type { IncomingHttpHeaders } from "node:http"
import { StreamsError } from "./errors.js"

/** A non-negative integer in decimal without sign, leading zeros, point or exponent (`Stream-TTL`). */
const DECIMAL = /^(0|[1-9]\d{0,15})$/
/** The longest `Stream-TTL`, in seconds: 100 years. */
const MAX_TTL_SECONDS = 100 * 365 * 24 * 3600
/**
 * Whether the date of an RFC 3339 timestamp is one of the calendar's: `Date.parse` takes
 * 2030-02-31 for March 3rd.
 */
function isCalendarDate(timestamp: string): boolean {
  const [year, month, day] = timestamp.slice(0, 10).split("-").map(Number) as [number, number, number]
  return new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day
}

/** RFC 3339 date-time. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/** A request header's single value (`undefined` when absent). */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value.join(", ") : value
}

/** `Stream-Closed`: present only when exactly `true`, in any case; any other value is ignored (section 4.1). */
export function closedHeader(headers: IncomingHttpHeaders): boolean {
  return header(headers, "stream-closed")?.toLowerCase() === "true"
}

/** A decimal non-negative integer header, or a 400 naming it. */
export function decimalHeader(value: string, name: string): number {
  if (!DECIMAL.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new StreamsError(
      400,
      `\`${name}\` must be a non-negative integer in decimal (no sign, leading zeros or point).`,
    )
  }
  return Number(value)
}

/**
 * `Stream-TTL` and `Stream-Expires-At` as the engine's `ttlMs` / `expiresAt`; a 400 for both, a
 * malformed one, or one that has already run out.
 */
export function expiryHeaders(headers: IncomingHttpHeaders): { ttlMs?: number; expiresAt?: number } {
  const ttl = header(headers, "stream-ttl")
  const expires = header(headers, "stream-expires-at")
  if (ttl !== undefined && expires !== undefined) {
    throw new StreamsError(400, "Send `Stream-TTL` or `Stream-Expires-At`, not both.")
  }
  if (ttl !== undefined) {
    const seconds = decimalHeader(ttl, "Stream-TTL")
    // The engine keeps a log for a positive time, and a time it can date.
    if (seconds < 1 || seconds > MAX_TTL_SECONDS) {
      throw new StreamsError(400, `\`Stream-TTL\` must be 1 to ${MAX_TTL_SECONDS} seconds (100 years).`)
    }
    return { ttlMs: seconds * 1000 }
  }
  if (expires !== undefined) {
    const time = RFC3339.test(expires) && isCalendarDate(expires) ? Date.parse(expires) : Number.NaN
    if (Number.isNaN(time)) {
      throw new StreamsError(400, "`Stream-Expires-At` must be an RFC 3339 timestamp (2030-01-01T00:00:00Z).")
    }
    // A stream that has expired already would be created only to answer 404 (as Stream-TTL: 0).
    if (time <= Date.now()) {
      throw new StreamsError(400, `\`Stream-Expires-At\` must be in the future; ${expires} has passed.`)
    }
    return { expiresAt: time }
  }
  return {}
}
