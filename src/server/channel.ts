import { hasEdgeWhitespace, indexOfUncarried } from "../protocol/header-value.js"
import { type EventFields, encode } from "../protocol/index.js"
import type { CloseListener, SSEConnection } from "./connection.js"
import { createEventHistory, type EventHistory, type HistoryLimits } from "./history.js"

/** Options for {@link createChannel}. */
export interface ChannelOptions {
  /**
   * Keep recent events so reconnecting clients replay what they missed by `Last-Event-ID`.
   * `true` uses the default bounds (1000 events, 1 MiB); off by default.
   */
  history?: boolean | HistoryLimits
  /**
   * The event type sent to a subscriber whose `Last-Event-ID` the history no longer holds, so
   * the app knows to reload its state instead of trusting a stream with a hole in it. Its data
   * is JSON `{"lastEventId": …, "oldestId": …}`. `null` sends nothing (the caller still gets
   * `"too-old"` from `subscribe`). Default `"herald-id-too-old"`.
   */
  tooOldEvent?: string | null
}

/** How a subscription started. */
export type SubscribeResult =
  /** No cursor given (or no history): live events only. */
  | { status: "live" }
  /** The cursor was found; `replayed` events that followed it were written first. */
  | { status: "replayed"; replayed: number }
  /** The cursor is not in the history (evicted, unknown, from another server): the client missed events. */
  | { status: "too-old"; oldestId: string | undefined }

/** A broadcast group: every event is serialized once and the same bytes go to every subscriber. */
export interface Channel {
  /**
   * Serializes `fields` once and writes the bytes to every subscriber. With history on and no
   * `id` given, assigns one (unique to this channel instance, so a cursor from an earlier process
   * is reported as too old rather than misread). Throws a `TypeError` for an `event` or `id`
   * holding CR, LF or NUL (`encode`), and, with history on, for an `id` that the `Last-Event-ID`
   * a reconnecting client sends back could never match: one that starts or ends with a space or
   * tab (HTTP strips them), or holds another ASCII control or a lone surrogate (no header carries
   * them).
   *
   * @returns the id the event carries (`undefined` if none) and how many subscribers took it
   *   without queueing.
   */
  publish(fields: EventFields): { id: string | undefined; delivered: number }
  /**
   * Publishes several events as ONE write per subscriber: each is serialized once (and kept in
   * the history one by one, for replay), then their bytes are joined once and that single chunk
   * goes to every subscriber. When events arrive in bursts (a batch publish, a page of updates
   * from a store), this divides the per-subscriber system calls by the batch size — the bulk of
   * a fan-out's cost. The wire carries exactly what `publish` in a loop would write.
   *
   * @returns the ids, in order, and how many subscribers took the chunk without queueing.
   */
  publishBatch(events: readonly EventFields[]): { ids: Array<string | undefined>; delivered: number }
  /**
   * Adds a connection; it leaves by itself when it closes. With history on, first replays what
   * followed `lastEventId` (default: the connection's own cursor) — replay and live events hand
   * over with no gap and no duplicate, because both happen in one synchronous step.
   */
  subscribe(connection: SSEConnection, options?: { lastEventId?: string }): SubscribeResult
  /** Removes a connection (it stays open). */
  unsubscribe(connection: SSEConnection): void
  /** Current subscribers. */
  readonly size: number
  /** The history, if enabled. */
  readonly history: EventHistory | undefined
}

/** The event that tells a resuming client its cursor is no longer held (a gap it must handle). */
export const TOO_OLD_EVENT = "herald-id-too-old"

const utf8 = new TextEncoder()

/** Throws a `TypeError` for an id that a reconnecting client's `Last-Event-ID` could never match. */
function assertResumable(id: string): void {
  if (hasEdgeWhitespace(id)) {
    throw new TypeError(
      `SSE id ${JSON.stringify(id)} starts or ends with a space or tab, which HTTP strips from the Last-Event-ID header a reconnecting client sends back: the channel's history could never find it, and the client would be told it is too old. Trim the id.`,
    )
  }
  const at = indexOfUncarried(id)
  if (at !== -1) {
    const codePoint = `U+${id.charCodeAt(at).toString(16).toUpperCase().padStart(4, "0")}`
    throw new TypeError(
      `SSE id ${JSON.stringify(id)} holds ${codePoint} at index ${at}, which the Last-Event-ID header a reconnecting client sends back cannot carry (an HTTP server answers 400 to an ASCII control other than tab; a lone surrogate has no UTF-8 bytes and arrives as U+FFFD): the channel's history could never find it. Remove or encode that character.`,
    )
  }
}

/** Creates a {@link Channel}. */
export function createChannel(options: ChannelOptions = {}): Channel {
  const subscribers = new Set<SSEConnection>()
  // One listener for every subscriber: no closure per connection.
  const forget: CloseListener = (_reason, connection) => {
    subscribers.delete(connection)
  }
  const history =
    options.history === undefined || options.history === false
      ? undefined
      : createEventHistory(options.history === true ? {} : options.history)
  const tooOldEvent = options.tooOldEvent === undefined ? TOO_OLD_EVENT : options.tooOldEvent
  // Refuse a bad event name now, not at the first stale reconnect.
  if (tooOldEvent !== null) encode({ event: tooOldEvent })
  // A random epoch makes generated ids unique across restarts: an old cursor is "too old", never misread.
  const epoch = Math.floor(Math.random() * 0xffffffff).toString(36)
  let sequence = 0

  const unsubscribe = (connection: SSEConnection): void => {
    if (subscribers.delete(connection)) connection.offClose(forget)
  }

  /** Gives the event its id and serializes it once, to bytes (DESIGN.md invariant 5). Throws on a bad `event`/`id`. */
  const serialize = (fields: EventFields): { id: string | undefined; frame: Uint8Array } => {
    const id = fields.id ?? (history === undefined ? undefined : `${epoch}-${++sequence}`)
    // encode first: CR, LF and NUL get its message, with history or without.
    const frame = utf8.encode(encode(id === fields.id ? fields : { ...fields, id }))
    if (history !== undefined && fields.id !== undefined) assertResumable(fields.id)
    return { id, frame }
  }

  const record = ({ id, frame }: { id: string | undefined; frame: Uint8Array }): void => {
    if (history !== undefined && id !== undefined) history.append(id, frame)
  }

  const broadcast = (bytes: Uint8Array): number => {
    let delivered = 0
    for (const connection of subscribers) if (connection.writeFrame(bytes)) delivered++
    return delivered
  }

  return {
    publish(fields) {
      const event = serialize(fields)
      record(event)
      return { id: event.id, delivered: broadcast(event.frame) }
    },
    publishBatch(events) {
      // Serialize all first: a bad id throws before anything is recorded or sent.
      const prepared = events.map(serialize)
      if (prepared.length === 0) return { ids: [], delivered: 0 }
      for (const event of prepared) record(event)
      const joined = new Uint8Array(prepared.reduce((total, { frame }) => total + frame.byteLength, 0))
      let offset = 0
      for (const { frame } of prepared) {
        joined.set(frame, offset)
        offset += frame.byteLength
      }
      return { ids: prepared.map(({ id }) => id), delivered: broadcast(joined) }
    },
    subscribe(connection, subscribeOptions = {}) {
      if (connection.closed || subscribers.has(connection)) return { status: "live" }
      const lastEventId = subscribeOptions.lastEventId ?? connection.lastEventId
      let result: SubscribeResult = { status: "live" }
      if (history !== undefined && lastEventId !== "") {
        const replay = history.after(lastEventId)
        if (replay.found) {
          connection.replay(replay.frames)
          result = { status: "replayed", replayed: replay.frames.length }
        } else {
          result = { status: "too-old", oldestId: replay.oldestId }
          if (tooOldEvent !== null) {
            connection.send({
              event: tooOldEvent,
              data: JSON.stringify({ lastEventId, oldestId: replay.oldestId ?? null }),
            })
          }
        }
      }
      if (connection.closed) return result
      subscribers.add(connection)
      connection.onClose(forget)
      return result
    },
    unsubscribe,
    get size() {
      return subscribers.size
    },
    get history() {
      return history
    },
  }
}
