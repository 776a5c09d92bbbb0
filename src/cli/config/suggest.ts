/** The candidate nearest to `name` by edit distance (case-insensitive), if it is near enough to be a typo. */
export function nearest(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase()
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  // A third of the name's length is the most a typo plausibly changes; beyond it, suggest nothing.
  return bestDistance <= Math.max(2, Math.ceil(name.length / 3)) ? best : undefined
}

/** Levenshtein distance, two rows at a time (names are short: the cost is bounded by their lengths). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

/** The Herald setting that takes what another server's setting holds. */
export interface SettingInstead {
  /** The setting's key (`engine`). */
  readonly key: string
  /** What its value looks like. */
  readonly example: string
  readonly why: string
}

/**
 * Other servers' names for what Herald's settings hold, by key (`redisUrl`: `--redis-url`,
 * `HERALD_REDIS_URL`): no typo finder matches them to the setting that takes their value.
 */
const SPELLED_OTHERWISE: Readonly<Record<string, SettingInstead>> = {
  redisUrl: { key: "engine", example: "redis://host:port", why: "the Redis URL is the engine" },
  redisHost: { key: "engine", example: "redis://host:port", why: "the Redis host is in the engine's URL" },
  redisPort: { key: "engine", example: "redis://host:port", why: "the Redis port is in the engine's URL" },
  redisPassword: {
    key: "engine",
    example: "redis://:password@host:port",
    why: "the Redis password is in the engine's URL",
  },
}

/**
 * The setting to use instead of `name`, another server's setting as `form` spells a key (a flag,
 * a variable, a file's key), or `undefined` when it is none of those.
 */
export function settingInstead(name: string, form: (key: string) => string): SettingInstead | undefined {
  for (const [other, instead] of Object.entries(SPELLED_OTHERWISE)) {
    if (form(other) === name) return instead
  }
  return undefined
}
