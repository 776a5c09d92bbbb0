import { clip, type DetailLimits, describe, invalidToken, isObject } from "./detail-members.js"
import type { GrantDetail, Role } from "./grants.js"
import { compileLegacySelector, type MatcherContext, type TopicMatcher } from "./matchers/matcher.js"

/** What a pre-standardization `mercure` claim grants. */
export interface LegacyGrants {
  readonly details: GrantDetail[]
  /** `mercure.payload`: pre-standardization hubs attach it to every subscription of the token. */
  readonly payload: unknown
}

/**
 * Parses the pre-standardization `mercure` claim: `{"publish": [selectors], "subscribe":
 * [selectors], "payload": any}` (draft-08, last appendix). Selectors are `*`, RFC 6570 URI
 * templates, or exact topics. Throws `AuthError(401, "invalid_token", …)` for a malformed claim:
 * like a malformed authorization detail, it is never half-applied.
 */
export function parseLegacyClaim(
  claim: unknown,
  limits: DetailLimits,
  context: MatcherContext,
): LegacyGrants {
  if (!isObject(claim)) throw invalidToken(`the "mercure" claim is ${describe(claim)}, expected an object`)
  const details: GrantDetail[] = []
  for (const action of ["publish", "subscribe"] as const satisfies readonly Role[]) {
    const topics = selectors(claim[action], action, limits, context)
    if (topics.length > 0)
      details.push({ app: "hub", origin: "mercure", actions: new Set([action]), resources: topics })
  }
  return { details, payload: claim.payload ?? undefined }
}

function selectors(
  value: unknown,
  action: Role,
  limits: DetailLimits,
  context: MatcherContext,
): TopicMatcher[] {
  // Pre-standardization issuers write `null` for "nothing" as often as they omit the key.
  if (value === undefined || value === null) return []
  const path = `mercure.${action}`
  if (!Array.isArray(value))
    throw invalidToken(`${path} is ${describe(value)}, expected an array of topic selectors`)
  if (value.length > limits.maxTopicsPerDetail) {
    throw invalidToken(
      `${path} has ${value.length} selectors, more than the hub's limit of ${limits.maxTopicsPerDetail}`,
    )
  }
  return value.map((selector, index) => {
    if (typeof selector !== "string")
      throw invalidToken(`${path}[${index}] is ${describe(selector)}, expected a string`)
    try {
      return compileLegacySelector(selector, context)
    } catch (error) {
      throw invalidToken(
        `${path}[${index}] "${clip(selector)}": ${error instanceof Error ? error.message : String(error)}`,
      )
    }
  })
}
