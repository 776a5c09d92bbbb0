import type { LogConfig } from "./engine.js"

/**
 * A log's config as the sqlite engine stores it: canonical JSON (fields in a fixed order, meta
 * keys sorted), so that "created again with an equal config" is one string comparison.
 * `Infinity` (a `maxAgeMs` that keeps entries by count only) has no JSON form: it is stored as
 * the string "Infinity".
 */
export function encodeConfig(config: LogConfig): string {
  return JSON.stringify(canonical(config), (_key, value) =>
    value === Number.POSITIVE_INFINITY ? "Infinity" : value,
  )
}

/** The fields of `config` that mean something, in canonical order; absent ones left out. */
function canonical(config: LogConfig): LogConfig {
  const { retention, ttlMs, expiresAt, owner, meta } = config
  return {
    ...(retention === undefined
      ? {}
      : {
          retention: {
            ...(retention.maxEntries === undefined ? {} : { maxEntries: retention.maxEntries }),
            ...(retention.maxAgeMs === undefined ? {} : { maxAgeMs: retention.maxAgeMs }),
          },
        }),
    ...(ttlMs === undefined ? {} : { ttlMs }),
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(owner === undefined ? {} : { owner }),
    ...(meta === undefined
      ? {}
      : { meta: Object.fromEntries(Object.entries(meta).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) }),
  }
}
