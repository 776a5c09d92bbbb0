import type { IncomingMessage } from "node:http"
import {
  compileLegacySelector,
  compileMatcher,
  isMatcherType,
  MatcherError,
  type TopicMatcher,
} from "../auth/matchers/matcher.js"
import { readLastEventId } from "../server/last-event-id.js"
import { parseForm } from "./form.js"
import { HttpError } from "./http-error.js"
import type { HubSettings } from "./settings.js"

/** One subscription of a connection: the matcher as the client spelled it. */
export interface RequestedSubscription {
  /** The matcher type name: `exact`, `urlpattern`, or for legacy `topic=` selectors `exact`/`uritemplate`. */
  readonly matchType: string
  readonly matcher: TopicMatcher
}

/** What a subscribe request asks for. */
export interface SubscriptionRequest {
  readonly subscriptions: readonly RequestedSubscription[]
  /** The resume cursor (`undefined` for live only), and whether the client asked for one. */
  readonly cursor: string | undefined
  /** How many of the matchers are URL patterns or URI templates: what `maxPatternMatchersPerAddress` counts. */
  readonly patterns: number
}

/**
 * Reads the matchers and the cursor of a subscribe request: from the query, and from `body`
 * when the request carried them there (a `QUERY` request). Both are parsed as
 * `application/x-www-form-urlencoded` — strictly: a value that is not valid UTF-8 is refused,
 * not replaced. Throws a 400 {@link HttpError} naming the parameter at fault.
 */
export function parseSubscriptionRequest(
  request: IncomingMessage,
  url: URL,
  settings: HubSettings,
  body?: Uint8Array,
): SubscriptionRequest {
  const query = url.search.length > 1 ? url.search.slice(1) : ""
  const queryFields = parseForm(Buffer.from(query, "latin1"))
  if (typeof queryFields === "string")
    throw new HttpError(400, `The query string is malformed: ${queryFields}`)
  const bodyFields = body === undefined ? [] : parseForm(body)
  if (typeof bodyFields === "string") throw new HttpError(400, `The request body is malformed: ${bodyFields}`)
  // "The hub MUST then take the union of the two ... as if they had all appeared in one
  // component." The query's pairs come first, so its last_event_id wins, as the spec requires.
  const fields = bodyFields.length === 0 ? queryFields : [...queryFields, ...bodyFields]

  const context = { hubUrl: settings.hubUrl, maxPatternLength: settings.limits.maxPatternLength }
  const subscriptions: RequestedSubscription[] = []
  let queryCursor: string | undefined
  let legacyCursor: string | undefined
  for (const [name, value] of fields) {
    if (name === "last_event_id") {
      // Single-valued: the first occurrence counts (the query's, if it has one).
      queryCursor ??= value
    } else if (name === "lastEventID" && settings.legacy) {
      legacyCursor ??= value
    } else if (name === "topic" && settings.legacy) {
      const matcher = compile(name, () => compileLegacySelector(value, context))
      subscriptions.push({ matchType: matcher.type === "template" ? "uritemplate" : "exact", matcher })
    } else if (name.length >= 5 && name.slice(0, 5).toLowerCase() === "match") {
      // "a parameter name in the reserved match namespace ... that does not correspond to a matcher
      // type supported by the hub MUST be rejected" — a misspelling fails loudly.
      const type = name === "match" ? "exact" : name.startsWith("match_") ? name.slice(6) : ""
      if (!isMatcherType(type)) {
        throw new HttpError(
          400,
          `Unknown matcher parameter "${name}". Use match=<topic> (exact) or match_urlpattern=<URL pattern>.`,
        )
      }
      subscriptions.push({
        matchType: type,
        matcher: compile(name, () => compileMatcher(type, value, context)),
      })
    }
    if (subscriptions.length > settings.limits.maxMatchersPerSubscription) {
      throw new HttpError(
        400,
        `Too many topic matchers: the hub accepts at most ${settings.limits.maxMatchersPerSubscription} per subscription (--max-matchers-per-subscription).`,
      )
    }
  }
  if (subscriptions.length === 0) {
    const legacyOnly = !settings.legacy && fields.some(([name]) => name === "topic")
    throw new HttpError(
      400,
      `The subscription has no topic matcher${legacyOnly ? ": this hub does not read the pre-draft topic= (its legacy support is off)" : ""}. Add match=<topic> or match_urlpattern=<URL pattern> to the query, or to the body of a QUERY request (match=* for every topic).`,
    )
  }
  // "If both the Last-Event-ID HTTP header and the last_event_id query parameter are present,
  // the HTTP header MUST take precedence."
  const header = readLastEventId(request.headers["last-event-id"], undefined, [])
  const cursor = header !== "" ? header : (queryCursor ?? legacyCursor)
  const patterns = subscriptions.filter(
    ({ matcher }) => matcher.type === "urlpattern" || matcher.type === "template",
  ).length
  return { subscriptions, cursor: cursor === "" ? undefined : cursor, patterns }
}

function compile(parameter: string, build: () => TopicMatcher): TopicMatcher {
  try {
    return build()
  } catch (error) {
    if (error instanceof MatcherError) throw new HttpError(400, `Parameter "${parameter}": ${error.message}`)
    throw error
  }
}
