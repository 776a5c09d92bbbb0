import type { IncomingMessage, ServerResponse } from "node:http"
import { performance } from "node:perf_hooks"
import { AuthError } from "../auth/errors.js"
import type { Grants } from "../auth/grants.js"
import type { Authenticated } from "./authenticate.js"
import { isMediaType, readBody } from "./body.js"
import type { HubContext } from "./context.js"
import { parseForm } from "./form.js"
import { HttpError } from "./http-error.js"
import { refuse } from "./refuse.js"
import { sendText } from "./responses.js"
import type { NewUpdate } from "./update.js"
import { draftFromForm, validateUpdate } from "./update-fields.js"

/**
 * Answers a draft-08 publish request: a form-encoded POST carrying one update. On success the
 * body is the update's id, `text/plain; charset=utf-8`, status 200 — sent only once the engine
 * has stored it (durably, for durable engines) and handed it to subscribers.
 */
export async function publishForm(
  context: HubContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
) {
  const started = performance.now()
  const cors = context.cors.headersFor(request.headers.origin)
  try {
    const { grants } = await admitPublisher(context, request, url)
    if (!isMediaType(request, "application/x-www-form-urlencoded")) {
      throw new HttpError(
        415,
        "Publish with Content-Type: application/x-www-form-urlencoded (topic=…&data=…). For several updates in one request, POST JSON or NDJSON to /herald/v1/publish.",
      )
    }
    const fields = parseForm(await readBody(request, context.settings.limits))
    if (typeof fields === "string") throw new HttpError(400, fields)
    const update = validateUpdate(draftFromForm(fields), context.settings)
    authorizePublish(grants, [update])
    const [stored] = await context.updates.append([update])
    context.metrics.published(1, (performance.now() - started) / 1000)
    sendText(response, 200, stored?.id ?? "", cors)
  } catch (error) {
    refuse(context, response, error, cors, "publish")
  }
}

/**
 * Authenticates a publisher. A token taken from a cookie is ambient — the browser attaches it to
 * any site's request — so "hubs SHOULD also verify that the source origin conveyed by the
 * Origin or Referer HTTP header matches the target origin, rejecting the request when neither
 * header is available" (CSRF). Only the hub's origin and the origins named in its CORS allowlist
 * pass: with `--cors-origins '*'` there is no list of sites trusted with cookies.
 */
export async function admitPublisher(
  context: HubContext,
  request: IncomingMessage,
  url: URL,
): Promise<Authenticated> {
  if (context.closing()) {
    throw new HttpError(503, "The hub is shutting down; publish again in a moment.", { "retry-after": "1" })
  }
  const authenticated = await context.auth.authenticate(request, url, "publish")
  if (authenticated.source === "cookie") {
    const origin = request.headers.origin ?? originOf(request.headers.referer)
    if (origin === undefined) {
      throw new AuthError(
        403,
        "insufficient_scope",
        "A publish authorized by cookie must carry an Origin or Referer header (CSRF protection).",
      )
    }
    if (!context.cors.trusts(origin)) {
      throw new AuthError(
        403,
        "insufficient_scope",
        `A publish authorized by cookie came from ${origin}, which is neither the hub's origin nor listed in its CORS origins (CSRF protection; "*" never lets a site publish with cookies). Add the origin to --cors-origins, or send the token in the Authorization header.`,
      )
    }
  }
  return authenticated
}

/**
 * "A publisher MUST present a token that grants the publish action on every topic of the
 * update"; otherwise nothing is dispatched (403 insufficient_scope naming the first topic refused).
 */
export function authorizePublish(grants: Grants, updates: readonly NewUpdate[]): void {
  for (const update of updates) {
    for (const topic of update.topics) {
      if (!grants.can("hub", "publish", topic)) {
        throw new AuthError(
          403,
          "insufficient_scope",
          `The token does not grant "publish" on the topic ${JSON.stringify(topic)}. Add a matcher for it to the token's authorization_details (or to the legacy mercure.publish claim).`,
        )
      }
    }
  }
}

function originOf(referer: string | undefined): string | undefined {
  if (referer === undefined) return undefined
  try {
    return new URL(referer).origin
  } catch {
    return undefined
  }
}
