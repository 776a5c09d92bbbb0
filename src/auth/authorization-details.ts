import {
  type DetailLimits,
  describe,
  invalidToken,
  isObject,
  parseActions,
  parseMatchers,
} from "./detail-members.js"
import { type GrantDetail, MERCURE_ACTIONS } from "./grants.js"
import { HERALD_GRANT_TYPE, parseHeraldGrant } from "./herald-grant.js"
import type { MatcherContext } from "./matchers/matcher.js"

/** "the authorization detail type identified by the URI `https://mercure.rocks/authorization-detail`". */
export const MERCURE_DETAIL_TYPE = "https://mercure.rocks/authorization-detail"

/** The detail types Herald acts on, each with its name in errors and its parser. */
const DETAIL_TYPES: ReadonlyMap<
  string,
  {
    readonly name: string
    readonly parse: (
      entry: Record<string, unknown>,
      path: string,
      limits: DetailLimits,
      context: MatcherContext,
    ) => GrantDetail
  }
> = new Map([
  [MERCURE_DETAIL_TYPE, { name: "Mercure authorization details", parse: parseMercureDetail }],
  [HERALD_GRANT_TYPE, { name: "Herald grants", parse: parseHeraldGrant }],
])

/**
 * Parses the `authorization_details` claim (RFC 9396) into the grants of its Mercure
 * authorization details and Herald grants; details of other types are ignored. Throws
 * `AuthError(401, "invalid_token", …)` naming the offending member: "If any Mercure authorization
 * detail fails to parse or validate (…), the hub MUST reject the token (…) and MUST NOT act on
 * the basis of the remaining entries" — Herald grants follow the same rule.
 */
export function parseAuthorizationDetails(
  claim: unknown,
  limits: DetailLimits,
  context: MatcherContext,
): GrantDetail[] {
  if (!Array.isArray(claim))
    throw invalidToken(`"authorization_details" is ${describe(claim)}, expected an array`)
  const details: GrantDetail[] = []
  const counts = new Map<string, number>()
  for (const [index, entry] of claim.entries()) {
    const path = `authorization_details[${index}]`
    // RFC 9396 section 2: every entry is an object with a string `type`.
    if (!isObject(entry)) throw invalidToken(`${path} is ${describe(entry)}, expected an object`)
    if (typeof entry.type !== "string") throw invalidToken(`${path} has no string "type"`)
    // "compared byte by byte"
    const type = DETAIL_TYPES.get(entry.type)
    if (type === undefined) continue
    const count = counts.get(entry.type) ?? 0
    if (count === limits.maxDetails) {
      throw invalidToken(
        `the token has more than ${limits.maxDetails} ${type.name}; merge them (a detail takes several actions and matchers)`,
      )
    }
    counts.set(entry.type, count + 1)
    details.push(type.parse(entry, path, limits, context))
  }
  return details
}

/** Whether `claim` holds a detail Herald acts on: such a token is a draft-08 token, never a legacy one. */
export function hasRecognizedDetail(claim: unknown): boolean {
  return (
    Array.isArray(claim) &&
    claim.some((entry) => isObject(entry) && typeof entry.type === "string" && DETAIL_TYPES.has(entry.type))
  )
}

/** A Mercure authorization detail: `actions`, `topics`, optional `payload`; it grants on the hub. */
function parseMercureDetail(
  entry: Record<string, unknown>,
  path: string,
  limits: DetailLimits,
  context: MatcherContext,
): GrantDetail {
  // "Hubs MUST ignore action values they do not recognize: an unrecognized action grants nothing"
  const actions = new Set(parseActions(entry, path).filter((action) => MERCURE_ACTIONS.has(action)))
  const resources = parseMatchers(entry, "topics", path, limits, context)
  // "MAY have a `payload` property (a JSON object)"
  const { payload } = entry
  if (payload !== undefined && !isObject(payload)) {
    throw invalidToken(`${path}.payload is ${describe(payload)}, expected a JSON object`)
  }
  return { app: "hub", origin: "mercure", actions, resources, ...(payload === undefined ? {} : { payload }) }
}
