import { createHash } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import { AuthError } from "../auth/errors.js"
import type { HubContext } from "./context.js"
import { mercureLink } from "./discovery.js"
import { HttpError } from "./http-error.js"
import { refuse } from "./refuse.js"
import { sendJson } from "./responses.js"
import { encodeTemplateValue, type Listed, subscriptionsPath } from "./subscriptions.js"

/**
 * Answers the subscription API (draft-08 "Subscription API"): `<hub>/subscriptions`,
 * `<hub>/subscriptions/{match_type}/{match}` and `<hub>/subscriptions/{match_type}/{match}/{subscriber}`.
 * The topic authorized is the request's absolute path, matched like any topic against the
 * token's `subscribe` grants.
 */
export async function subscriptionApi(
  context: HubContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
): Promise<void> {
  const cors = context.cors.headersFor(request.headers.origin)
  try {
    const prefix = subscriptionsPath(context.settings.hubPath)
    const path = url.pathname
    const { grants } = await context.auth.authenticate(request, url, "subscribe")
    if (!grants.can("hub", "subscribe", path)) {
      // An anonymous subscriber (--anonymous) presented nothing: ask for a token (401 and a
      // challenge). 403 is for a token that was presented and lacks the grant.
      throw grants.anonymous
        ? new AuthError(
            401,
            undefined,
            `The subscription API needs an access token that grants "subscribe" on ${path}: send it as Authorization: Bearer <token>.`,
          )
        : new AuthError(
            403,
            "insufficient_scope",
            `The token does not grant "subscribe" on ${path}. Grant it with a matcher such as ${prefix}/* (urlpattern) or "*".`,
          )
    }
    const segments = path === prefix ? [] : path.slice(prefix.length + 1).split("/")
    if (segments.length !== 0 && segments.length !== 2 && segments.length !== 3) {
      throw new HttpError(
        404,
        `No such resource. Use ${prefix}, ${prefix}/{match_type}/{match} or ${prefix}/{match_type}/{match}/{subscriber}.`,
      )
    }
    // The cursor comes with the subscriptions: they reflect every subscription event up to it.
    const headers = ({ lastEventId }: Listed<unknown>) => ({
      ...cors,
      link: mercureLink(context.settings, {
        "last-event-id": lastEventId,
        type: "mercure",
        "content-type": "application/json",
      }),
      // Opaque: an id may hold what an entity-tag cannot (a quote, a space).
      etag: `"${createHash("sha256").update(lastEventId).digest("base64url")}"`,
      "cache-control": "must-revalidate",
    })
    const [matchType, match, subscriber] = segments.map(decodeSegment)
    if (subscriber !== undefined) {
      // Looked up by the canonical spelling, whatever percent-encoding case the client used.
      const id = `${prefix}/${encodeTemplateValue(matchType ?? "")}/${encodeTemplateValue(match ?? "")}/${encodeTemplateValue(subscriber)}`
      const found = await context.directory.get(id)
      if (found.value === undefined) throw new HttpError(404, `No active subscription ${path}.`)
      sendJson(response, 200, found.value, headers(found))
      return
    }
    const listed = await context.directory.list(matchType, match)
    sendJson(response, 200, { id: path, type: "subscriptions", subscriptions: listed.value }, headers(listed))
  } catch (error) {
    refuse(context, response, error, cors)
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new HttpError(400, `The path segment ${JSON.stringify(segment)} is not valid percent-encoding.`)
  }
}
