import type { Grants, Role } from "./grants.js"
import type { TokenVerifier } from "./verifier.js"

/** Bounds of a {@link cacheVerifications} cache. */
export interface TokenCacheLimits {
  /** Most tokens remembered (least recently used go first). Default 1024. */
  readonly maxEntries?: number
  /** Longest a verification is trusted without redoing it, ms. Default 60 000. */
  readonly maxAgeMs?: number
  /** Longer tokens are never cached, so the cache stays small. Default 4096 characters. */
  readonly maxTokenLength?: number
}

interface Entry {
  readonly grants: Grants
  readonly verifiedAt: number
}

/**
 * Remembers successful verifications, so a publisher reusing its token does not pay for the
 * signature check on every request (it is most of a publish's cost: ~0.1 ms with jose's HS256).
 * A remembered token is still refused once its `exp` passes, and is verified again after
 * `maxAgeMs` (a JWKS key rotation takes effect within that time). Failures are never cached, so
 * every refusal carries its own reason.
 */
export function cacheVerifications(
  verifier: TokenVerifier,
  limits: TokenCacheLimits = {},
  now: () => number = Date.now,
): TokenVerifier {
  const maxEntries = limits.maxEntries ?? 1024
  const maxAgeMs = limits.maxAgeMs ?? 60_000
  const maxTokenLength = limits.maxTokenLength ?? 4096
  const entries = new Map<string, Entry>()
  return {
    async verify(token: string, role: Role): Promise<Grants> {
      if (token.length > maxTokenLength) return verifier.verify(token, role)
      const key = `${role} ${token}`
      const entry = entries.get(key)
      const time = now()
      if (entry !== undefined) {
        entries.delete(key)
        const expired = entry.grants.expiresAt !== undefined && entry.grants.expiresAt <= time
        // Re-inserted at the end: the Map's order is the least-recently-used order.
        if (!expired && time - entry.verifiedAt < maxAgeMs) {
          entries.set(key, entry)
          return entry.grants
        }
      }
      const grants = await verifier.verify(token, role)
      entries.set(key, { grants, verifiedAt: time })
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string)
      return grants
    },
  }
}
