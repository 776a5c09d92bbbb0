import type { Retention } from "./engine.js"

/** Retention with both bounds set. */
export interface ResolvedRetention {
  readonly maxEntries: number
  readonly maxAgeMs: number
}

/** The default retention of every engine: 10 000 entries, at most one hour old. */
export const RETENTION_DEFAULTS: ResolvedRetention = { maxEntries: 10_000, maxAgeMs: 60 * 60 * 1000 }

/**
 * Fills in `defaults` and rejects nonsense with an error naming the field and `where` it was
 * given. `maxAgeMs` may be `Infinity` (keep by count only); `maxEntries` stays finite, so a log's
 * history is always bounded.
 */
export function resolveRetention(
  retention: Retention | undefined,
  defaults: ResolvedRetention,
  where: string,
): ResolvedRetention {
  const maxEntries = retention?.maxEntries ?? defaults.maxEntries
  const maxAgeMs = retention?.maxAgeMs ?? defaults.maxAgeMs
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(
      `${where}: retention.maxEntries must be a positive integer; got ${String(maxEntries)}.`,
    )
  }
  if (typeof maxAgeMs !== "number" || Number.isNaN(maxAgeMs) || maxAgeMs <= 0) {
    throw new RangeError(
      `${where}: retention.maxAgeMs must be a positive number of milliseconds (or Infinity); got ${String(maxAgeMs)}.`,
    )
  }
  return { maxEntries, maxAgeMs }
}
