import type { RetentionLimits } from "./engine.js"

/** Retention with both bounds set. */
export interface ResolvedRetention {
  readonly maxEvents: number
  readonly maxAgeMs: number
}

/**
 * Fills in an engine's defaults and rejects nonsense with a clear error. `maxAgeMs` may be
 * `Infinity` (keep by count only); `maxEvents` must stay finite, so the history is always bounded.
 */
export function resolveRetention(
  limits: RetentionLimits | undefined,
  defaults: ResolvedRetention,
  engine: string,
): ResolvedRetention {
  const maxEvents = limits?.maxEvents ?? defaults.maxEvents
  const maxAgeMs = limits?.maxAgeMs ?? defaults.maxAgeMs
  if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) {
    throw new RangeError(
      `${engine} engine: retention.maxEvents must be a positive integer; got ${String(maxEvents)}.`,
    )
  }
  if (typeof maxAgeMs !== "number" || Number.isNaN(maxAgeMs) || maxAgeMs <= 0) {
    throw new RangeError(
      `${engine} engine: retention.maxAgeMs must be a positive number of milliseconds; got ${String(maxAgeMs)}.`,
    )
  }
  return { maxEvents, maxAgeMs }
}
