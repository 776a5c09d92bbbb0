/**
 * Topic matchers (draft-08 "Matcher Types"): `exact`, `urlpattern`, the `*` wildcard, and the
 * pre-standardization selectors (exact or RFC 6570 URI template).
 *
 * Matching is on the hub's hot path (every update against every subscription), so a topic can be
 * parsed once per update with {@link prepareTopic} and the result handed to every matcher.
 */
import { URLPattern } from "urlpattern-polyfill/urlpattern"
import {
  type Component,
  type ComponentCost,
  type ComponentOptions,
  CostError,
  componentCost,
  MAX_AMBIGUOUS_PARTS,
  MAX_BRANCHES,
  MAX_GROUPS,
} from "./cost.js"
import { templateMatcher, templateSyntaxError, templateVariableCount } from "./template.js"
import { invalidCharacterReason } from "./validate.js"

/** A compiled topic matcher: the `match`/`match_<type>` subscribe parameters, the `topics` of a
 * token's authorization details, and the legacy `topic=` selectors. */
export interface TopicMatcher {
  /** `exact` and `urlpattern` (draft-08); `template` (legacy RFC 6570 selector); `*` matches all. */
  readonly type: "exact" | "urlpattern" | "template" | "wildcard"
  /** The expression as given. */
  readonly pattern: string
  /**
   * Whether `topic` matches. Never throws; a topic a URL pattern cannot parse does not match, nor
   * does a topic longer than the context's limit (except for `exact` and `wildcard`, which cost
   * nothing). Accepts a {@link PreparedTopic} to share one URL parse among many matchers.
   */
  matches(topic: string | PreparedTopic): boolean
}

/** What compiling a matcher needs to know. */
export interface MatcherContext {
  /** The hub's own URL: relative URL patterns and relative topics resolve against it. */
  readonly hubUrl: URL
  /**
   * Longest pattern accepted, in characters. Default 1024. Also the longest topic a URL pattern
   * or URI template evaluates (a longer topic does not match): it bounds the matching cost.
   */
  readonly maxPatternLength?: number
}

/** A matcher that cannot be compiled; the message says what is wrong and how to fix it. */
export class MatcherError extends Error {
  override name = "MatcherError"
}

/** The matcher types a hub supports, by their canonical names. */
export const MATCHER_TYPES = ["exact", "urlpattern"] as const

/** One of {@link MATCHER_TYPES}. */
export type MatcherType = (typeof MATCHER_TYPES)[number]

/** Whether `type` names a matcher type this hub supports. */
export function isMatcherType(type: string | undefined): type is MatcherType {
  return (MATCHER_TYPES as readonly (string | undefined)[]).includes(type)
}

/** Default for {@link MatcherContext.maxPatternLength}. */
export const DEFAULT_MAX_PATTERN_LENGTH = 1024

/**
 * A parsed URL is at most this many times longer than the topic (percent-encoding expands a
 * character up to nine-fold); past it the topic does not match, so that the per-component inputs
 * a URL pattern runs on stay bounded too.
 */
const MAX_URL_EXPANSION = 4

/** A topic parsed once, to be matched against many matchers compiled with the same hub URL. */
export interface PreparedTopic {
  /** The topic as published. */
  readonly topic: string
  /** The hub URL (`href`) it was resolved against. */
  readonly base: string
  /** The limit it was checked against. */
  readonly maxLength: number
  /**
   * The topic resolved against the hub URL, as URL Pattern components, or `undefined` when it is
   * not a URL reference or is too long (it then matches no URL pattern).
   */
  readonly url: ParsedTopicUrl | undefined
}

/**
 * The components of a resolved topic, as URL Pattern matches them: the input a URL pattern tests
 * (a `URLPatternInit`), so that each test does not parse the topic again.
 */
export interface ParsedTopicUrl {
  readonly href: string
  readonly protocol: string
  readonly username: string
  readonly password: string
  readonly hostname: string
  readonly port: string
  readonly pathname: string
  /** Without its `?`. */
  readonly search: string
  /** Without its `#`. */
  readonly hash: string
}

/**
 * Parses `topic` against `hubUrl` once, for every matcher of an update: "When evaluating a relative
 * pattern or a relative topic, the hub MUST use the hub's URL as the base URL."
 */
export function prepareTopic(
  topic: string,
  hubUrl: URL,
  maxLength = DEFAULT_MAX_PATTERN_LENGTH,
): PreparedTopic {
  return { topic, base: hubUrl.href, maxLength, url: parseTopic(topic, hubUrl, maxLength) }
}

function parseTopic(topic: string, hubUrl: URL, maxLength: number): ParsedTopicUrl | undefined {
  if (topic.length > maxLength) return undefined
  let url: URL
  try {
    url = new URL(topic, hubUrl)
  } catch {
    // "A topic that cannot be parsed as a URL reference against the hub's URL cannot be matched by
    // a URL pattern: hubs MUST treat its evaluation against any URL pattern as not matching."
    return undefined
  }
  if (url.href.length > maxLength * MAX_URL_EXPANSION) return undefined
  return {
    href: url.href,
    protocol: url.protocol.slice(0, -1),
    username: url.username,
    password: url.password,
    hostname: url.hostname,
    port: url.port,
    pathname: url.pathname,
    search: url.search.slice(1),
    hash: url.hash.slice(1),
  }
}

function topicString(topic: string | PreparedTopic): string {
  return typeof topic === "string" ? topic : topic.topic
}

const WILDCARD: TopicMatcher = Object.freeze({
  type: "wildcard" as const,
  pattern: "*",
  matches: () => true,
})

/**
 * Compiles a draft-08 matcher of `type` (`exact` or `urlpattern`). The value `*` is the
 * wildcard whatever the type. Throws {@link MatcherError} for an unsupported type, a value with
 * forbidden characters, a malformed or too costly URL pattern, or one over the length limit.
 *
 * The type is checked first, so `*` with an unsupported type is an error too: "a matcher the hub
 * cannot interpret must fail loudly rather than be skipped". URL patterns are held to a static
 * cost policy (see cost.ts and docs/topics.md): no back-references, lookarounds or nested
 * quantifiers, at most {@link MAX_GROUPS} groups, at most {@link MAX_AMBIGUOUS_PARTS} ambiguous
 * variable-length parts per component; topics over the length limit never match.
 */
export function compileMatcher(type: string, pattern: string, context: MatcherContext): TopicMatcher {
  if (!isMatcherType(type)) {
    throw new MatcherError(
      `unsupported matcher type "${type}"; this hub supports: ${MATCHER_TYPES.join(", ")}`,
    )
  }
  checkValue(pattern, context)
  // "The matcher value `*` is reserved as a wildcard that matches every topic. It is recognized
  // before the matcher type is resolved".
  if (pattern === "*") return WILDCARD
  if (type === "exact") return exactMatcher(pattern)
  return urlPatternMatcher(pattern, context)
}

/**
 * Compiles a pre-standardization selector (the legacy `topic=` subscribe parameter and the
 * `mercure` claim): `*`, an RFC 6570 URI template when it contains `{…}`, otherwise exact.
 * Throws {@link MatcherError} for forbidden characters, a malformed template, more than
 * {@link MAX_GROUPS} template variables, or a selector over the length limit.
 */
export function compileLegacySelector(selector: string, context: MatcherContext): TopicMatcher {
  checkValue(selector, context)
  if (selector === "*") return WILDCARD
  if (!selector.includes("{")) return exactMatcher(selector)
  const syntax = templateSyntaxError(selector)
  if (syntax !== undefined) throw new MatcherError(`malformed URI template "${selector}": ${syntax}`)
  const variables = templateVariableCount(selector)
  if (variables > MAX_GROUPS) {
    throw new MatcherError(
      `URI template "${selector}" has ${variables} variables; at most ${MAX_GROUPS} are allowed`,
    )
  }
  const maxLength = maxLengthOf(context)
  const test = templateMatcher(selector)
  return {
    type: "template",
    pattern: selector,
    matches(topic) {
      const value = topicString(topic)
      return value.length <= maxLength && test(value)
    },
  }
}

function maxLengthOf(context: MatcherContext): number {
  return context.maxPatternLength ?? DEFAULT_MAX_PATTERN_LENGTH
}

/** Length first (cheap, and bounds the character scan), then the draft-08 character rules. */
function checkValue(pattern: string, context: MatcherContext): void {
  const maxLength = maxLengthOf(context)
  if (pattern.length > maxLength) {
    throw new MatcherError(`matcher is ${pattern.length} characters long; at most ${maxLength} are allowed`)
  }
  const reason = invalidCharacterReason(pattern)
  if (reason !== undefined) throw new MatcherError(`matcher ${reason}`)
}

/**
 * "an exact, case-sensitive, byte-for-byte comparison between the topic and the matcher. The hub
 * MUST NOT resolve relative values against the hub's URL or any other base, and MUST NOT perform
 * Unicode or IRI normalization." (Equal UTF-16 strings are equal UTF-8 byte sequences.)
 */
function exactMatcher(pattern: string): TopicMatcher {
  return {
    type: "exact",
    pattern,
    matches: (topic) => topicString(topic) === pattern,
  }
}

const COMPONENTS: readonly Component[] = [
  "protocol",
  "username",
  "password",
  "hostname",
  "port",
  "pathname",
  "search",
  "hash",
]
const SPECIAL_SCHEMES = ["http", "https", "ws", "wss", "ftp", "file"]
const DEFAULT_OPTIONS: ComponentOptions = { delimiter: "", prefix: "" }
const HOSTNAME_OPTIONS: ComponentOptions = { delimiter: ".", prefix: "" }
const PATHNAME_OPTIONS: ComponentOptions = { delimiter: "/", prefix: "/" }
/** Characters with a meaning in URL Pattern syntax: a component without them is plain text. */
const PATTERN_SYNTAX = /[\\:*(){}+?]/

function urlPatternMatcher(pattern: string, context: MatcherContext): TopicMatcher {
  const compiled = constructPattern(pattern, context.hubUrl)
  checkCost(pattern, compiled)
  const base = context.hubUrl.href
  const maxLength = maxLengthOf(context)
  const prefilter = literalPrefilter(compiled)
  return {
    type: "urlpattern",
    pattern,
    matches(topic) {
      const url =
        typeof topic !== "string" && topic.base === base && topic.maxLength === maxLength
          ? topic.url
          : parseTopic(topicString(topic), context.hubUrl, maxLength)
      if (url === undefined || !prefilter(url)) return false
      try {
        // The components, not `url.href`: given a string, the test parses it into them again
        // (a third of its cost, once per subscriber's pattern per update).
        return compiled.test(url)
      } catch {
        return false
      }
    },
  }
}

/**
 * Absolute patterns are compiled alone; relative ones against the hub URL. (Giving an absolute
 * pattern a base URL would graft the base's directory onto an opaque path: `urn:*` would become
 * `urn:/.well-known/*`.) `ignoreCase` is never set: "hubs MUST NOT enable the `ignoreCase` option".
 */
function constructPattern(pattern: string, hubUrl: URL): URLPattern {
  try {
    return new URLPattern(pattern)
  } catch (absoluteError) {
    if (!String((absoluteError as Error).message).includes("base URL"))
      throw malformed(pattern, absoluteError)
  }
  try {
    return new URLPattern(pattern, hubUrl.href)
  } catch (relativeError) {
    throw malformed(pattern, relativeError)
  }
}

function malformed(pattern: string, error: unknown): MatcherError {
  const reason = String((error as Error).message ?? error).replace(/^Failed to construct 'URLPattern': /, "")
  return new MatcherError(`malformed URL pattern "${pattern}": ${reason}`)
}

function checkCost(pattern: string, compiled: URLPattern): void {
  let groups = 0
  for (const component of COMPONENTS) {
    let cost: ComponentCost
    try {
      cost = componentCost(compiled[component], componentOptions(component, compiled))
    } catch (error) {
      if (!(error instanceof CostError)) throw error
      throw new MatcherError(`URL pattern "${pattern}" is too costly to evaluate: ${error.message}`)
    }
    if (cost.ambiguous > MAX_AMBIGUOUS_PARTS) {
      throw new MatcherError(
        `URL pattern "${pattern}" is too costly to evaluate: its ${component} has ${cost.ambiguous} wildcards or ` +
          `groups that can each end at many places (at most ${MAX_AMBIGUOUS_PARTS}); separate them with a ` +
          `character they cannot match, like "/" after ":name"`,
      )
    }
    if (cost.branches > MAX_BRANCHES) {
      throw new MatcherError(
        `URL pattern "${pattern}" is too costly to evaluate: its ${component} has alternatives or optional ` +
          `parts that give ${cost.branches} ways to match one text (at most ${MAX_BRANCHES}); give each ` +
          "alternative its own first character, or end an optional part with one",
      )
    }
    groups += cost.groups
  }
  if (groups > MAX_GROUPS) {
    throw new MatcherError(
      `URL pattern "${pattern}" is too costly to evaluate: it has ${groups} wildcards and groups; at most ${MAX_GROUPS}`,
    )
  }
}

/**
 * The URL Pattern standard compiles hostnames with "." as the segment delimiter and paths with
 * "/" when the protocol pattern can match a special scheme; everything else with none.
 */
function componentOptions(component: Component, compiled: URLPattern): ComponentOptions {
  if (component === "hostname") return HOSTNAME_OPTIONS
  if (component !== "pathname") return DEFAULT_OPTIONS
  const protocol = new URLPattern({ protocol: compiled.protocol })
  return SPECIAL_SCHEMES.some((scheme) => protocol.test({ protocol: scheme }))
    ? PATHNAME_OPTIONS
    : DEFAULT_OPTIONS
}

/**
 * A cheap test that rejects most non-matching topics before the URL Pattern evaluation (which
 * canonicalizes every component again): components written as plain text must be equal, and the
 * path must start with the pattern's plain-text beginning. It never rejects a topic the pattern
 * matches (a property test checks this against the polyfill).
 */
function literalPrefilter(compiled: URLPattern): (url: ParsedTopicUrl) => boolean {
  const checks: ((url: ParsedTopicUrl) => boolean)[] = []
  for (const component of ["protocol", "hostname", "port"] as const) {
    const literal = compiled[component]
    if (!PATTERN_SYNTAX.test(literal)) checks.push((url) => url[component] === literal)
  }
  const pathname = compiled.pathname
  const special = PATTERN_SYNTAX.exec(pathname)
  let prefix = special === null ? pathname : pathname.slice(0, special.index)
  // A "/" right before a part may be its optional prefix (`/books/:id?` matches `/books`).
  if (special !== null && prefix.endsWith("/")) prefix = prefix.slice(0, -1)
  if (special === null) checks.push((url) => url.pathname === pathname)
  else if (prefix !== "") checks.push((url) => url.pathname.startsWith(prefix))
  return (url) => checks.every((check) => check(url))
}
