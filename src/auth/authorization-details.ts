import { AuthError } from "./errors.js"
import type { Action, GrantDetail } from "./grants.js"
import {
  compileMatcher,
  isMatcherType,
  MATCHER_TYPES,
  type MatcherContext,
  type TopicMatcher,
} from "./matchers/matcher.js"

/** "the authorization detail type identified by the URI `https://mercure.rocks/authorization-detail`". */
export const MERCURE_DETAIL_TYPE = "https://mercure.rocks/authorization-detail"

/** The actions draft-08 defines; any other is ignored. */
const ACTIONS: ReadonlySet<string> = new Set<Action>(["publish", "subscribe"])

/** Bounds on what a token may ask the hub to compile. */
export interface DetailLimits {
  /** Mercure authorization details per token. */
  readonly maxDetails: number
  /** Entries in one detail's `topics` (and in each legacy `publish`/`subscribe` array). */
  readonly maxTopicsPerDetail: number
}

/**
 * Parses the `authorization_details` claim (RFC 9396) into the grants of its Mercure
 * authorization details; details of other types are ignored. Throws `AuthError(401,
 * "invalid_token", …)` naming the offending member: "If any Mercure authorization detail fails
 * to parse or validate (…), the hub MUST reject the token (…) and MUST NOT act on the basis of
 * the remaining entries".
 */
export function parseAuthorizationDetails(
  claim: unknown,
  limits: DetailLimits,
  context: MatcherContext,
): GrantDetail[] {
  if (!Array.isArray(claim)) throw invalid(`"authorization_details" is ${describe(claim)}, expected an array`)
  const details: GrantDetail[] = []
  for (const [index, entry] of claim.entries()) {
    const path = `authorization_details[${index}]`
    // RFC 9396 section 2: every entry is an object with a string `type`.
    if (!isObject(entry)) throw invalid(`${path} is ${describe(entry)}, expected an object`)
    if (typeof entry.type !== "string") throw invalid(`${path} has no string "type"`)
    // "compared byte by byte"
    if (entry.type !== MERCURE_DETAIL_TYPE) continue
    if (details.length === limits.maxDetails) {
      throw invalid(
        `the token has more than ${limits.maxDetails} Mercure authorization details; merge them (a detail takes several topics)`,
      )
    }
    details.push(parseDetail(entry, path, limits, context))
  }
  return details
}

function parseDetail(
  entry: Record<string, unknown>,
  path: string,
  limits: DetailLimits,
  context: MatcherContext,
): GrantDetail {
  // "MUST have an `actions` property: a non-empty JSON array of strings"
  const { actions, topics, payload } = entry
  if (!Array.isArray(actions) || actions.length === 0) {
    throw invalid(`${path}.actions is ${describe(actions)}, expected a non-empty array such as ["subscribe"]`)
  }
  const granted = new Set<Action>()
  for (const [index, action] of actions.entries()) {
    // "A non-string entry in `actions` remains a validation failure."
    if (typeof action !== "string")
      throw invalid(`${path}.actions[${index}] is ${describe(action)}, expected a string`)
    // "Hubs MUST ignore action values they do not recognize: an unrecognized action grants nothing"
    if (ACTIONS.has(action)) granted.add(action as Action)
  }
  // "MUST have a `topics` property: a non-empty JSON array of topic matcher objects"
  if (!Array.isArray(topics) || topics.length === 0) {
    throw invalid(`${path}.topics is ${describe(topics)}, expected a non-empty array of {"match": …} objects`)
  }
  if (topics.length > limits.maxTopicsPerDetail) {
    throw invalid(
      `${path}.topics has ${topics.length} entries, more than the hub's limit of ${limits.maxTopicsPerDetail}`,
    )
  }
  const matchers = topics.map((topic, index) => parseTopic(topic, `${path}.topics[${index}]`, context))
  // "MAY have a `payload` property (a JSON object)"
  if (payload !== undefined && !isObject(payload)) {
    throw invalid(`${path}.payload is ${describe(payload)}, expected a JSON object`)
  }
  return payload === undefined
    ? { actions: granted, topics: matchers }
    : { actions: granted, topics: matchers, payload }
}

/** One topic matcher object: `{"match": …, "match_type"?: …}` (draft-08 "Topic Matcher List"). */
function parseTopic(topic: unknown, path: string, context: MatcherContext): TopicMatcher {
  if (!isObject(topic))
    throw invalid(`${path} is ${describe(topic)}, expected an object such as {"match": "*"}`)
  const { match, match_type: type } = topic
  if (typeof match !== "string") throw invalid(`${path}.match is ${describe(match)}, expected a string`)
  // "If no `match_type` key is present, the hub MUST assume the `exact` matcher type."
  if (type !== undefined && typeof type !== "string") {
    throw invalid(`${path}.match_type is ${describe(type)}, expected a string`)
  }
  // "a `match_type` the hub does not support MUST cause the token to be rejected"
  if (type !== undefined && !isMatcherType(type)) {
    throw invalid(
      `${path}.match_type "${clip(type)}" is not supported (supported: ${MATCHER_TYPES.join(", ")})`,
    )
  }
  try {
    return compileMatcher(type ?? "exact", match, context)
  } catch (error) {
    throw invalid(`${path}: ${error instanceof Error ? error.message : String(error)}`)
  }
}

function invalid(reason: string): AuthError {
  return new AuthError(401, "invalid_token", reason)
}

/** A plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
}

/** How a JSON value is named in an error: its kind, and short scalars verbatim. */
export function describe(value: unknown): string {
  if (value === undefined) return "missing"
  if (value === null) return "null"
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "an array"
  if (typeof value === "object") return "an object"
  if (typeof value === "string") return `the string "${clip(value)}"`
  return `${typeof value} ${String(value)}`
}

/** Shortens a token-supplied string quoted in an error. */
export function clip(value: string, max = 80): string {
  return value.length > max ? `${value.slice(0, max)}...` : value
}
