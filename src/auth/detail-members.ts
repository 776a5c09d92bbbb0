/**
 * The members every authorization detail Herald understands shares — a non-empty `actions` list
 * of strings and a non-empty list of matcher objects — and how JSON values are named in the
 * errors that refuse a malformed one.
 */
import { AuthError } from "./errors.js"
import {
  compileMatcher,
  isMatcherType,
  MATCHER_TYPES,
  type MatcherContext,
  type TopicMatcher,
} from "./matchers/matcher.js"

/** Bounds on what a token may ask the server to compile. */
export interface DetailLimits {
  /** Authorization details of each recognized type per token. */
  readonly maxDetails: number
  /** Matchers in one detail (and in each legacy `publish`/`subscribe` array). */
  readonly maxTopicsPerDetail: number
}

/**
 * The detail's `actions`: "a non-empty JSON array of strings". Every string is kept; which ones
 * mean something is the detail type's business (an unrecognized action grants nothing).
 */
export function parseActions(entry: Record<string, unknown>, path: string): string[] {
  const { actions } = entry
  if (!Array.isArray(actions) || actions.length === 0) {
    throw invalidToken(
      `${path}.actions is ${describe(actions)}, expected a non-empty array such as ["subscribe"]`,
    )
  }
  return actions.map((action, index) => {
    // "A non-string entry in `actions` remains a validation failure."
    if (typeof action !== "string")
      throw invalidToken(`${path}.actions[${index}] is ${describe(action)}, expected a string`)
    return action
  })
}

/**
 * The detail's matcher list under `member` (`topics` for Mercure, `resources` for Herald): a
 * non-empty array of `{"match": …, "match_type"?: …}` objects, at most `limits.maxTopicsPerDetail`.
 */
export function parseMatchers(
  entry: Record<string, unknown>,
  member: string,
  path: string,
  limits: DetailLimits,
  context: MatcherContext,
): TopicMatcher[] {
  const list = entry[member]
  if (!Array.isArray(list) || list.length === 0) {
    throw invalidToken(
      `${path}.${member} is ${describe(list)}, expected a non-empty array of {"match": …} objects`,
    )
  }
  if (list.length > limits.maxTopicsPerDetail) {
    throw invalidToken(
      `${path}.${member} has ${list.length} entries, more than the hub's limit of ${limits.maxTopicsPerDetail}`,
    )
  }
  return list.map((item, index) => parseMatcher(item, `${path}.${member}[${index}]`, context))
}

/** One matcher object: `{"match": …, "match_type"?: …}` (draft-08 "Topic Matcher List"). */
function parseMatcher(item: unknown, path: string, context: MatcherContext): TopicMatcher {
  if (!isObject(item))
    throw invalidToken(`${path} is ${describe(item)}, expected an object such as {"match": "*"}`)
  const { match, match_type: type } = item
  if (typeof match !== "string") throw invalidToken(`${path}.match is ${describe(match)}, expected a string`)
  // "If no `match_type` key is present, the hub MUST assume the `exact` matcher type."
  if (type !== undefined && typeof type !== "string") {
    throw invalidToken(`${path}.match_type is ${describe(type)}, expected a string`)
  }
  // "a `match_type` the hub does not support MUST cause the token to be rejected"
  if (type !== undefined && !isMatcherType(type)) {
    throw invalidToken(
      `${path}.match_type "${clip(type)}" is not supported (supported: ${MATCHER_TYPES.join(", ")})`,
    )
  }
  try {
    return compileMatcher(type ?? "exact", match, context)
  } catch (error) {
    throw invalidToken(`${path}: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/** The refusal of a token whose claims do not parse: never half-applied. */
export function invalidToken(reason: string): AuthError {
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
