/**
 * Reads a `Retry-After` header (RFC 9110 §10.2.3): either delay-seconds or an HTTP-date.
 * Returns milliseconds to wait from `now`, or `undefined` when the header is absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined
  const text = value.trim()
  // "Retry-After = HTTP-date / delay-seconds", "delay-seconds = 1*DIGIT".
  if (/^\d+$/.test(text)) return Number.parseInt(text, 10) * 1000
  // Every HTTP-date form starts with a day name; this keeps Date.parse from reading "-5" as a year.
  if (!/^[A-Za-z]/.test(text)) return undefined
  const date = Date.parse(text)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}
