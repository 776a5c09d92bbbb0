import { randomUUID } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Grants } from "../auth/grants.js"
import type { PreparedTopic, TopicMatcher } from "../auth/matchers/matcher.js"
import type { Entry } from "../engine/engine.js"
import { type Follower, follow } from "../engine/follow.js"
import { EngineUnavailableError } from "../engine/unavailable.js"
import { encode } from "../protocol/index.js"
import { jitteredRetryFrame, type SSEConnection, TOO_OLD_EVENT, toHeaderValue } from "../server/index.js"
import { MAX_TIMER_DELAY_MS } from "../timer-delay.js"
import type { SubscriberSlot } from "./admission.js"
import { type BodyLimits, isMediaType, readWholeBody } from "./body.js"
import type { HubContext } from "./context.js"
import { mercureLink } from "./discovery.js"
import { HttpError } from "./http-error.js"
import type { DeferralReason } from "./metrics.js"
import { refuse } from "./refuse.js"
import { ReplaysBusyError } from "./replay-gate.js"
import { parseSubscriptionRequest } from "./subscription-request.js"
import type { SubscriptionDocument } from "./subscriptions.js"
import { EARLIEST, type StoredUpdate } from "./update.js"

/** The event telling a resuming subscriber that the hub no longer holds its cursor. */
export const CURSOR_NOT_FOUND_EVENT = TOO_OLD_EVENT

/** What a subscriber's stream has delivered, as far as a resume from it goes. */
interface Seen {
  /** The id of the last update delivered; before any, the cursor resumed from (or `earliest`). */
  lastEventId: string
}

/**
 * The {@link CURSOR_NOT_FOUND_EVENT} for a client whose last update is `lastEventId`: the hub no
 * longer holds what came after it (never a silent gap: the app reloads its state).
 */
function tooOldFrame(lastEventId: string): string {
  return encode({ event: CURSOR_NOT_FOUND_EVENT, data: JSON.stringify({ lastEventId }) })
}

/**
 * Answers a subscribe request (draft-08 "Subscription"): checks the token, admits the
 * connection, reads the matchers, resumes from the cursor, and streams every matching update the token
 * may read until the client leaves, the token expires or the hub shuts down.
 */
export async function subscribe(
  context: HubContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
): Promise<void> {
  const { settings, metrics } = context
  const cors = context.cors.headersFor(request.headers.origin)
  const address = context.clientAddress(request)
  let grants: Grants
  let slot: SubscriberSlot
  try {
    // Authentication first: a caller the hub refuses costs it neither a body read nor compiled patterns.
    grants = (await context.auth.authenticate(request, url, "subscribe")).grants
    // Then a slot, before the body: a QUERY whose body is on its way holds what a stream holds.
    slot = context.admission.admit(address)
  } catch (error) {
    refuse(context, response, error, cors)
    return
  }
  let parsed: ReturnType<typeof parseSubscriptionRequest>
  try {
    const body = request.method === "QUERY" ? await readMatcherBody(request, settings.limits) : undefined
    parsed = parseSubscriptionRequest(request, url, settings, body)
    slot.holdPatterns(parsed.patterns)
  } catch (error) {
    slot.release()
    refuse(context, response, error, cors)
    return
  }

  // From here on a slot is held, and soon a follower and subscription documents: `release`
  // gives back whatever was taken, once, on every path — the stream closing, or any failure.
  let follower: Follower | undefined
  let documents: readonly SubscriptionDocument[] | undefined
  let lifetime: NodeJS.Timeout | undefined
  let released = false
  const release = (): void => {
    if (released) return
    released = true
    clearTimeout(lifetime)
    follower?.stop()
    slot.release()
    if (documents !== undefined) context.subscriptions.remove(documents)
  }
  let connection: SSEConnection | undefined
  let cursorHeld = false
  // What the client would resume from now: its cursor, then the id of each update delivered.
  const seen: Seen = { lastEventId: parsed.cursor ?? EARLIEST }
  try {
    try {
      const { updates } = context
      const from = parsed.cursor === undefined ? undefined : await updates.locate(parsed.cursor)
      follower = await follow(context.replays.forFollower(), updates.name, from, {
        ...replayBounds(settings.limits.maxQueuedBytes),
        onEnd: (reason, error) => {
          // Cut, not ended: a subscriber too far behind may not be reading at all, and a stream
          // ended gracefully would wait for it to read what its socket holds, for ever.
          if (reason === "pending") connection?.destroy("overflow")
          else {
            // The follower stopped (its history was trimmed mid-replay, a delivery failed, the
            // engine could not read): end the stream, or it would carry heartbeats and nothing
            // else. The client resumes from its cursor, and that resume answers honestly.
            if (error instanceof EngineUnavailableError) context.engineAway.closed({ err: error })
            else if (reason === "gap" || reason === "deleted") {
              context.reportLostHistory("closed")
            } else if (reason === "error") {
              settings.logger.error(
                { err: error },
                "delivering an update failed; closing the subscriber's stream",
              )
            }
            connection?.close()
          }
        },
        onRecreated: () => {
          // The log started over (a Redis restarted empty): the updates it held past this
          // subscriber's last one are gone, the ones stored since are not. Say so, as for a
          // cursor not found, and go on in this stream with every update stored since, once
          // each: ended, the client would resume from a cursor of the old log, not found, and
          // go live from its return, without the updates stored in between.
          context.reportLostHistory("continued")
          connection?.writeFrame(tooOldFrame(seen.lastEventId))
        },
      })
      cursorHeld = from !== undefined && (follower.status === "held" || isLogToCome(parsed.cursor, follower))
    } catch (error) {
      release()
      if (error instanceof ReplaysBusyError) {
        askToComeBackLater(context, request, response, cors, "replays_busy")
        return
      }
      if (error instanceof EngineUnavailableError) {
        // Not a 503, which EventSource takes as final: the client comes back after `retry`.
        context.engineAway.deferred({ err: error, client: address })
        askToComeBackLater(context, request, response, cors, "engine_unavailable")
        return
      }
      settings.logger.error(
        { err: error, client: address },
        "could not read the history to resume a subscriber",
      )
      refuse(context, response, error, cors)
      return
    }
    if (response.destroyed || request.socket.destroyed) {
      release()
      return
    }

    const headers: Record<string, string> = {
      ...cors,
      link: mercureLink(settings),
    }
    if (parsed.cursor !== undefined) {
      // "the identifier of the event preceding the first event sent to the subscriber, or the
      // reserved value earliest if there is no preceding event".
      const preceding = toHeaderValue(cursorHeld && parsed.cursor !== EARLIEST ? parsed.cursor : EARLIEST)
      headers["mercure-last-event-id"] = preceding
      if (settings.legacy) headers["last-event-id"] = preceding
    }
    const open = context.sse.connect(request, response, { headers })
    connection = open
    open.onClose((reason) => {
      release()
      if (reason === "overflow") metrics.overflowed()
    })
    // Refused at once (the hub is shutting down): the close listener releases everything.
    if (open.closed) return
    // Taken before anything is written, so that a close that a write causes finds them to release.
    documents = context.subscriptions.add(`urn:uuid:${randomUUID()}`, parsed.subscriptions, grants)
    lifetime = closeAtExpiry(open, grants, settings.limits.maxConnectionMs)
    if (parsed.cursor !== undefined && !cursorHeld) {
      // Never a silent gap: say so, so the app reloads its state instead of trusting a stream with a hole.
      open.writeFrame(tooOldFrame(parsed.cursor))
    }
    await stream(context, open, follower, parsed, grants, seen)
  } catch (error) {
    // Nothing stays held: the stream, if open, is cut, and the request's error boundary answers and logs.
    connection?.destroy()
    release()
    throw error
  }
}

/**
 * Whether `earliest` was asked of a log not made yet (before the first publish; a memory engine
 * after every restart): nothing was lost, and the follower delivers the log from its first update
 * once it is made. Not when the log was made between the follower's read and its look at the tail
 * (`after` is that tail): the updates before it are skipped, so the subscriber is told.
 */
function isLogToCome(cursor: string | undefined, follower: Follower): boolean {
  return cursor === EARLIEST && follower.reason === "missing" && follower.after === undefined
}

/** Delivers the follower's updates that the subscription matches and the token may read, until the stream ends. */
async function stream(
  context: HubContext,
  open: SSEConnection,
  follower: Follower,
  parsed: ReturnType<typeof parseSubscriptionRequest>,
  grants: Grants,
  seen: Seen,
): Promise<void> {
  const { settings, metrics } = context
  const matchers = parsed.subscriptions.map((subscription) => subscription.matcher)
  const exactOnly = matchers.every((matcher) => matcher.type === "exact" || matcher.type === "wildcard")
  const { updates } = context
  // The private check first: the subscriber's own patterns cost more than the token's grants, and
  // are not evaluated on an update it may not read.
  const wanted = (update: StoredUpdate): boolean =>
    // "If an update is marked as private, the hub MUST NOT dispatch it to subscribers not authorized to receive it."
    (!update.private || mayRead(grants, update.topics)) &&
    matchesAny(matchers, exactOnly ? update.topics : context.preparedTopics(update))
  const deliver = (entry: Entry): boolean => {
    const update = updates.decode(entry)
    if (!wanted(update)) return true
    metrics.delivered(1)
    seen.lastEventId = update.id
    return open.writeFrame(update.frame)
  }
  const deliverBatch = (entries: readonly Entry[]): void => {
    let last: string | undefined
    for (const entry of entries) {
      const update = updates.decode(entry)
      if (!wanted(update)) {
        for (const each of entries) deliver(each)
        return
      }
      last = update.id
    }
    // The subscriber takes the whole batch: one frame, the same string for every such subscriber.
    metrics.delivered(entries.length)
    if (last !== undefined) seen.lastEventId = last
    open.writeFrame(context.joinedFrames(entries))
  }
  try {
    await follower.start(deliver, () => open.whenWritable(), deliverBatch)
  } catch (error) {
    // The history could not be read mid-replay: end the stream; the client resumes from its cursor.
    settings.logger.error({ err: error }, "replay failed; closing the subscriber's stream")
    open.close()
  }
}

/**
 * The body of a `QUERY` subscribe request: "the topic matcher parameters ... in the request body
 * ... MUST be encoded as application/x-www-form-urlencoded", for matcher lists too long for a URL.
 * A list sent at once: it must arrive whole within the body timeout.
 */
async function readMatcherBody(request: IncomingMessage, limits: BodyLimits): Promise<Uint8Array> {
  const body = await readWholeBody(request, limits)
  // A QUERY with its matchers in the URL only has no body, and no type to give it.
  if (body.length > 0 && !isMediaType(request, "application/x-www-form-urlencoded")) {
    throw new HttpError(
      415,
      "A QUERY subscription carries its matchers as Content-Type: application/x-www-form-urlencoded (match=…&match=…).",
    )
  }
  return body
}

function matchesAny(matchers: readonly TopicMatcher[], topics: readonly (string | PreparedTopic)[]): boolean {
  for (const matcher of matchers) {
    for (const topic of topics) if (matcher.matches(topic)) return true
  }
  return false
}

/** "a token that grants the subscribe action on at least one topic of the update (canonical or alternate)". */
function mayRead(grants: Grants, topics: readonly string[]): boolean {
  if (grants.anonymous) return false
  for (const topic of topics) if (grants.can("hub", "subscribe", topic)) return true
  return false
}

/**
 * "the hub MUST close the connection no later than the token's exp time", and no connection
 * outlives the maximum lifetime, token or not: the client then reconnects and re-authenticates.
 */
function closeAtExpiry(connection: SSEConnection, grants: Grants, maxConnectionMs: number) {
  const untilExpiry =
    grants.expiresAt === undefined ? Number.POSITIVE_INFINITY : grants.expiresAt - Date.now()
  // setTimeout caps delays at 2^31 - 1 ms (~24.8 days).
  const delay = Math.max(0, Math.min(untilExpiry, maxConnectionMs, MAX_TIMER_DELAY_MS))
  const timer = setTimeout(() => connection.close(), delay)
  timer.unref()
  return timer
}

/**
 * What a subscriber's follower may hold, from the bound on what is queued for a slow subscriber
 * (docs/hub.md, Limits). The rest of a replay page is what waits for a subscriber that stops
 * reading mid-replay, so a page is a quarter of that bound: with what its socket took, a stalled
 * resumer stays within it (or holds one update, when an update is larger). Live updates held
 * back while a subscriber catches up are the feed's own objects, the same for every subscriber
 * of the node, so they get a wider bound (16 MiB by default); past it the subscriber is cut as
 * an overflow and resumes from its cursor.
 */
function replayBounds(maxQueuedBytes: number): { maxPageBytes: number; maxPendingBytes: number } {
  return { maxPageBytes: Math.max(1, Math.floor(maxQueuedBytes / 4)), maxPendingBytes: 64 * maxQueuedBytes }
}

/**
 * Answers a subscriber refused by a full replay queue or an engine that is away: 200, a `retry`
 * drawn from the hub's retry plus jitter window, and the end of the stream. Not a 503: EventSource gives up for good
 * on any status but 200, while an ended stream makes it reconnect, with its cursor, after `retry`.
 */
function askToComeBackLater(
  context: HubContext,
  request: IncomingMessage,
  response: ServerResponse,
  headers: Readonly<Record<string, string>>,
  reason: DeferralReason,
): void {
  const { settings } = context
  context.metrics.deferred(reason)
  const connection = context.sse.connect(request, response, { headers })
  connection.writeFrame(jitteredRetryFrame(settings.retryMs, settings.shutdownRetryJitterMs))
  connection.close()
}
