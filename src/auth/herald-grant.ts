import {
  clip,
  type DetailLimits,
  describe,
  invalidToken,
  parseActions,
  parseMatchers,
} from "./detail-members.js"
import { APPS, type GrantDetail, isApp } from "./grants.js"
import type { MatcherContext } from "./matchers/matcher.js"

/**
 * The RFC 9396 authorization detail type of a Herald grant: `{"type": HERALD_GRANT_TYPE, "app":
 * …, "actions": [...], "resources": [{"match": …, "match_type"?: …}]}`. The URI names the format,
 * it is never fetched.
 */
export const HERALD_GRANT_TYPE = "https://herald.dev/grant"

/**
 * Parses one Herald grant. `app` is required and must name one of {@link APPS}: it says which
 * namespace the resources belong to, so a hub topic, a stream path and a generation path that
 * happen to be spelled alike can never grant one another. A typo in `app` refuses the token
 * rather than silently granting nothing; an action an app does not know grants nothing, as in
 * Mercure, so a token minted for a newer Herald still works on an older one.
 */
export function parseHeraldGrant(
  entry: Record<string, unknown>,
  path: string,
  limits: DetailLimits,
  context: MatcherContext,
): GrantDetail {
  const { app } = entry
  if (typeof app !== "string" || !isApp(app)) {
    const given = typeof app === "string" ? `"${clip(app)}"` : describe(app)
    throw invalidToken(
      `${path}.app is ${given}, expected one of ${APPS.map((name) => `"${name}"`).join(", ")}`,
    )
  }
  const actions = new Set(parseActions(entry, path))
  const resources = parseMatchers(entry, "resources", path, limits, context)
  return { app, origin: "herald", actions, resources }
}
