import { z } from "zod"

/**
 * The value types of Herald's configuration, as zod schemas. Each accepts the typed value (from a
 * JSON config file) and its text form (from a flag or an environment variable), and pairs with a
 * sentence saying what is expected, used in error messages.
 */

/** A configuration value type: the schema, and what a bad value is told it should be. */
export interface ValueType<T> {
  readonly schema: z.ZodType<T>
  /** Completes "expected …", e.g. "a port number 0–65535". */
  readonly expected: string
  /** Says what exactly is wrong with a value the schema refused, when it can (a URL's bad part). */
  readonly problem?: (value: unknown) => string | undefined
}

const UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}

const UNITS_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
}

/** Parses `"30d"`, `"1h"`, `"1.5s"`, `"250ms"`, or a plain count of milliseconds (callers refuse those). */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/i.exec(text.trim())
  if (!match) return undefined
  const ms = Number(match[1]) * (UNITS_MS[(match[2] ?? "ms").toLowerCase()] ?? Number.NaN)
  return Number.isSafeInteger(Math.round(ms)) ? Math.round(ms) : undefined
}

/** Parses `"1mb"`, `"256KiB"`, `"512"` (bytes). Units are powers of 1024. */
export function parseBytes(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?$/i.exec(text.trim())
  if (!match) return undefined
  const bytes = Number(match[1]) * (UNITS_BYTES[(match[2] ?? "b").toLowerCase()] ?? Number.NaN)
  return Number.isSafeInteger(Math.round(bytes)) ? Math.round(bytes) : undefined
}

const TRUE = new Set(["true", "1", "yes", "on"])
const FALSE = new Set(["false", "0", "no", "off"])

/** Text form of a value, when it came as text; other values pass through for the schema to judge. */
function fromText<T>(convert: (text: string) => T | undefined): (value: unknown) => unknown {
  return (value) => (typeof value === "string" ? (convert(value) ?? value) : value)
}

const integerText = (text: string): number | undefined =>
  /^\s*\d+\s*$/.test(text) ? Number(text.trim()) : undefined

/** An integer in `[min, max]`. */
export function integer(min: number, max: number, expected: string): ValueType<number> {
  return {
    schema: z.preprocess(fromText(integerText), z.number().int().min(min).max(max)),
    expected,
  }
}

/** A TCP port; 0 asks the system for a free one. */
export const port: ValueType<number> = integer(0, 65535, "a port number 0–65535 (0 picks a free port)")

/** A count of at least 1, below 2^31 so that it stays a sane bound. */
export const count: ValueType<number> = integer(1, 2 ** 31 - 1, "a whole number ≥ 1")

const BARE_NUMBER = /^\s*\d+(\.\d+)?\s*$/

/** A duration as {@link duration} read it from text: a wrapper, so that a JSON number, which has no unit, is refused. */
interface ParsedDuration {
  readonly ms: number
}

const DAY_MS = 86_400_000

/**
 * The longest duration a setting waited on by a timer takes: 24 days, in whole days under what a
 * timer holds (about 24.8), with room left for the 5 s grace added to `--shutdown-timeout`.
 */
export const MAX_TIMER_DURATION_MS = 24 * DAY_MS

/** Bounds of a {@link duration}, ms. */
export interface DurationBounds {
  /** Default 1. */
  readonly minMs?: number
  /** Default {@link MAX_TIMER_DURATION_MS}; a duration no timer waits (an age) may lift it. */
  readonly maxMs?: number
}

/**
 * A duration with a unit: `"30d"`, `"1h"`, `"15s"`, `"250ms"`, within `bounds`. A bare number
 * (`5`, `"5"`) is refused in every source: `--heartbeat 5` meant five seconds far more often than
 * five milliseconds, and `herald bench` and `herald doctor` refuse it too.
 */
export function duration(bounds: DurationBounds = {}): ValueType<number> {
  const { minMs = 1, maxMs = MAX_TIMER_DURATION_MS } = bounds
  const range = Number.isSafeInteger(maxMs)
    ? `from ${shownDuration(minMs)} to ${shownDuration(maxMs)}`
    : `of at least ${shownDuration(minMs)}`
  return {
    schema: z.preprocess(
      (value): unknown => {
        if (typeof value !== "string" || BARE_NUMBER.test(value)) return value
        const ms = parseDuration(value)
        return ms === undefined ? value : ({ ms } satisfies ParsedDuration)
      },
      z.object({ ms: z.number().int().min(minMs).max(maxMs) }).transform(({ ms }) => ms),
    ),
    expected: `a duration with a unit, such as "30d", "1h", "15s" or "250ms", ${range}`,
    problem: (value) => {
      const text = typeof value === "number" ? String(value) : typeof value === "string" ? value.trim() : ""
      return BARE_NUMBER.test(text) ? `give a unit, e.g. ${text}s or ${text}ms` : undefined
    },
  }
}

/** `ms` in the largest unit that divides it: "24d", "20s", "1500ms"; "0" for none. */
export function shownDuration(ms: number): string {
  if (ms === 0) return "0"
  for (const unit of ["d", "h", "m", "s"] as const) {
    const size = UNITS_MS[unit] as number
    if (ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}

/** A size in bytes: `"1mb"`, `"256kb"` or a number of bytes (units are powers of 1024). */
export const bytes: ValueType<number> = {
  schema: z.preprocess(fromText(parseBytes), z.number().int().min(1)),
  expected: 'a size such as "1mb", "256kb", or a number of bytes ≥ 1',
}

/** `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off` in text). */
export const boolean: ValueType<boolean> = {
  schema: z.preprocess(
    fromText((text) => {
      const lower = text.trim().toLowerCase()
      return TRUE.has(lower) ? true : FALSE.has(lower) ? false : undefined
    }),
    z.boolean(),
  ),
  expected: "true or false",
}

/** A non-empty string. */
export function text(expected = "a non-empty string"): ValueType<string> {
  return { schema: z.string().trim().min(1), expected }
}

/** One of `choices`. */
export function oneOf<const T extends readonly [string, ...string[]]>(choices: T): ValueType<T[number]> {
  return {
    schema: z.preprocess(
      fromText((value) => value.trim().toLowerCase()),
      z.enum(choices),
    ),
    expected: `one of ${choices.map((choice) => `"${choice}"`).join(", ")}`,
  }
}

/** A comma-separated list in text, or an array of strings in JSON. Empty items are dropped. */
export function list(
  expected: string,
  item: z.ZodType<string, string> = z.string().min(1),
): ValueType<string[]> {
  return {
    schema: z.preprocess(
      fromText((value) =>
        value
          .split(",")
          .map((part) => part.trim())
          .filter((part) => part !== ""),
      ),
      z.array(z.string().trim().pipe(item)),
    ),
    expected,
  }
}

/** An absolute `http:` or `https:` URL. */
export const httpUrl: ValueType<string> = {
  schema: z
    .string()
    .trim()
    .refine((value) => {
      try {
        const url = new URL(value)
        return url.protocol === "http:" || url.protocol === "https:"
      } catch {
        return false
      }
    }),
  expected: "an absolute http:// or https:// URL",
}

/** A CORS origin (`scheme://host[:port]`, no path) or `*`. */
export const origin: z.ZodType<string, string> = z.string().refine((value) => {
  if (value === "*") return true
  try {
    return new URL(value).origin === value.replace(/\/$/, "")
  } catch {
    return false
  }
})
