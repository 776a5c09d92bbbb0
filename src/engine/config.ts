import { assertDuration, assertNodeName, assertString } from "./checks.js"
import type { LogConfig } from "./engine.js"
import { RETENTION_DEFAULTS, type ResolvedRetention, resolveRetention } from "./retention.js"

/**
 * Checks a log's config (naming the field at fault) and returns a frozen copy without absent
 * fields, plus its retention resolved against the engine's default.
 */
export function checkLogConfig(
  config: LogConfig,
  defaults: ResolvedRetention,
): { readonly config: LogConfig; readonly retention: ResolvedRetention } {
  if (typeof config !== "object" || config === null) throw new TypeError("A log config must be an object.")
  const { retention, ttlMs, expiresAt, owner, meta } = config
  const resolved = resolveRetention(retention, defaults, "log config")
  if (ttlMs !== undefined) assertDuration(ttlMs, "ttlMs")
  if (expiresAt !== undefined && (typeof expiresAt !== "number" || !Number.isFinite(expiresAt))) {
    throw new RangeError(`\`expiresAt\` must be a time in ms since the Unix epoch; got ${String(expiresAt)}.`)
  }
  if (ttlMs !== undefined && expiresAt !== undefined) {
    throw new TypeError("A log config takes `ttlMs` or `expiresAt`, not both.")
  }
  if (owner !== undefined) assertNodeName(owner, "owner")
  if (meta !== undefined) {
    if (typeof meta !== "object" || meta === null) throw new TypeError("`meta` must be an object of strings.")
    for (const [name, value] of Object.entries(meta)) assertString(value, `meta.${name}`)
  }
  const copy: Record<string, unknown> = {}
  // Only the fields that mean something: every engine then compares the same config.
  if (retention !== undefined)
    copy.retention = Object.freeze(
      withoutUndefined({ maxEntries: retention.maxEntries, maxAgeMs: retention.maxAgeMs }),
    )
  if (ttlMs !== undefined) copy.ttlMs = ttlMs
  if (expiresAt !== undefined) copy.expiresAt = expiresAt
  if (owner !== undefined) copy.owner = owner
  if (meta !== undefined) copy.meta = Object.freeze({ ...meta })
  return { config: Object.freeze(copy) as LogConfig, retention: resolved }
}

/** Whether two configs say the same (create is idempotent for an equal config). */
export function sameConfig(a: LogConfig, b: LogConfig): boolean {
  return deepEqual(a, b)
}

/**
 * Whether `asked` is the config a log was created with (`created`, as its head reports it): what
 * `create` would answer `exists` to, without creating anything. Throws for a config `create`
 * would refuse.
 */
export function isCreationConfig(created: LogConfig, asked: LogConfig): boolean {
  return sameConfig(created, checkLogConfig(asked, RETENTION_DEFAULTS).config)
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  const left = a as Record<string, unknown>
  const right = b as Record<string, unknown>
  const keys = Object.keys(left).filter((key) => left[key] !== undefined)
  const otherKeys = Object.keys(right).filter((key) => right[key] !== undefined)
  return keys.length === otherKeys.length && keys.every((key) => deepEqual(left[key], right[key]))
}

function withoutUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key]
  return value
}

/**
 * A config an engine stored as JSON, read back: JSON has no Infinity, so a retention's `maxAgeMs`
 * of Infinity (entries kept by count only) is stored as the string "Infinity". Only retention's:
 * a meta field of that name is the caller's string.
 */
export function parseStoredConfig(json: string): LogConfig {
  const config = JSON.parse(json) as LogConfig
  if (config.retention?.maxAgeMs === ("Infinity" as unknown)) {
    return { ...config, retention: { ...config.retention, maxAgeMs: Number.POSITIVE_INFINITY } }
  }
  return config
}

/** The config a head reports: as the log was created, with the owner it has now (a takeover changes it). */
export function withOwner(config: LogConfig, owner: string | undefined): LogConfig {
  return owner === config.owner ? config : { ...config, owner }
}
