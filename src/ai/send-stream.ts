import type { IncomingMessage, ServerResponse } from "node:http"
import { continuesEpoch, inCurrentEpoch } from "../engine/former-epochs.js"
import { formatPosition, parsePosition } from "../engine/position.js"
import { readLastEventId } from "../server/index.js"
import type { AIContext } from "./ai-context.js"
import { GENERATION_ID_HEADER } from "./ai-headers.js"
import { type Cursor, parseCursor } from "./cursor.js"
import type { FoundGeneration } from "./generation-state.js"
import { sendFormatError } from "./responses.js"
import type { StreamFormat } from "./stream-formats.js"
import { streamGeneration } from "./stream-generation.js"

/** The query parameters read for a resume cursor when there is no `Last-Event-ID` header. */
const CURSOR_PARAMS = ["last_event_id", "lastEventId"] as const

/** The request's resume cursor (`Last-Event-ID`, else `?last_event_id`), `""` when none. */
export function readCursor(request: IncomingMessage): string {
  return readLastEventId(request.headers["last-event-id"], request.url, CURSOR_PARAMS)
}

/**
 * What a resume cursor names in a generation: one of its events, as a {@link Cursor} (one of a
 * former epoch that the current one continues names the same event in the current epoch);
 * `"lost"`, one of its events that its log no longer holds (a Redis failover to a replica that
 * had not received it: replication is asynchronous); or `undefined`, none of its events.
 */
export function cursorOf(given: string, found: FoundGeneration): Cursor | "lost" | undefined {
  const cursor = parseCursor(given)
  const tail = parsePosition(found.head.tail)
  if (cursor === undefined || tail === undefined || !continuesEpoch(found.head, cursor.epoch))
    return undefined
  const current = inCurrentEpoch(found.head, cursor)
  if (current === undefined || current.seq > tail.seq) return "lost"
  return current === cursor
    ? cursor
    : { ...cursor, ...current, position: formatPosition(current.epoch, current.seq) }
}

/** The refusal of a cursor whose events the log lost (see {@link cursorOf}), in `format`. */
export function sendEventsLost(response: ServerResponse, format: StreamFormat): void {
  sendFormatError(
    response,
    format.errors,
    410,
    "The events up to this cursor (Last-Event-ID) were lost: the store failed over to a replica that had not received them, and the generation went on without them. Read it again from the start (no Last-Event-ID) for the answer as it is kept.",
    { param: "last_event_id", code: "events_lost" },
  )
}

/**
 * Streams `found` in `format` after `cursor` (from the start without one). A reader of a
 * running generation keeps it from being stopped for a disconnect.
 */
export async function sendStream(
  context: AIContext,
  request: IncomingMessage,
  response: ServerResponse,
  found: FoundGeneration,
  format: StreamFormat,
  cursor: Cursor | undefined,
  extraHeaders: Readonly<Record<string, string>> = {},
): Promise<void> {
  const headers = { [GENERATION_ID_HEADER]: found.id, ...format.headers, ...extraHeaders }
  const connection = context.sse.connect(request, response, { headers })
  if (connection.closed) return
  if (!found.head.closed) connection.onClose(context.generations.watch(found.id))
  await streamGeneration(
    context.engine,
    found.log,
    format.view({ id: found.id, meta: found.meta }),
    cursor,
    connection,
    context.streams,
    context.logger,
  )
}

/**
 * Streams `found` in `format` after the request's cursor (from the start without one); a cursor
 * that is none of its event ids is a 400 naming `last_event_id`, one of its lost events a 410.
 */
export async function sendStreamAfterCursor(
  context: AIContext,
  request: IncomingMessage,
  response: ServerResponse,
  found: FoundGeneration,
  format: StreamFormat,
  extraHeaders: Readonly<Record<string, string>> = {},
): Promise<void> {
  const given = readCursor(request)
  const cursor = given === "" ? undefined : cursorOf(given, found)
  if (cursor === "lost") {
    sendEventsLost(response, format)
    return
  }
  if (given !== "" && cursor === undefined) {
    sendFormatError(
      response,
      format.errors,
      400,
      "The cursor (Last-Event-ID) is not one of this generation's event ids; send the id of an event it sent, or none to read it from the start.",
      { param: "last_event_id" },
    )
    return
  }
  await sendStream(context, request, response, found, format, cursor, extraHeaders)
}
