/**
 * GET `live=sse` (protocol section 5.8): the catch-up, each read page as one `data` event and its
 * `control` event in one write; then live, from the engine's `follow` — the node's one feed of
 * the log, not a read per reader per append — each live batch one frame shared by every reader
 * (sse-events.ts). Base64 for streams that are not text or JSON. The response ends after
 * `sseLifetimeMs` (the client reconnects from its offset), at the close, or when a slow reader's
 * queue passes `maxQueuedBytes`.
 */

import type { Entry } from "../engine/engine.js"
import { type FollowEnd, follow } from "../engine/follow.js"
import { EngineUnavailableError } from "../engine/unavailable.js"
import type { SSEConnection } from "../server/index.js"
import { isTextual } from "./content.js"
import type { StreamRequest, StreamsContext } from "./context.js"
import { responseCursors } from "./cursor.js"
import { StreamsError } from "./errors.js"
import { requireUndeleted } from "./lookup.js"
import { parseStreamOffset, type ReadStart, type StreamOffset } from "./offsets.js"
import { readRange } from "./read-range.js"
import { liveStart } from "./read-reply.js"
import { eventsFrame, type SseEncoding } from "./sse-events.js"
import { exposedOffset, ownPosition, type Stream } from "./stream.js"

/** One SSE response: where it is, and how it writes. */
interface SseReader {
  readonly context: StreamsContext
  readonly stream: Stream
  readonly connection: SSEConnection
  readonly encoding: SseEncoding
  /** The `streamCursor` of the next control event. */
  readonly cursor: () => string
}

export async function serveSse(
  context: StreamsContext,
  request: StreamRequest,
  stream: Stream,
  start: ReadStart,
): Promise<void> {
  // Read before answering: an offset that is not held is still a 404, 410 or 400.
  const first = await readRange(context.engine, stream, liveStart(stream, start), context.limits)
  const encoding: SseEncoding = { json: stream.json, base64: !isTextual(stream.contentType) }
  const connection = context.sse.connect(request.request, request.response, {
    headers: {
      ...request.baseHeaders,
      "content-type": "text/event-stream",
      // Cache-Control is the server library's, `no-cache, no-transform`: a proxy that may
      // transform the body buffers it.
      ...(encoding.base64 ? { "stream-sse-data-encoding": "base64" } : {}),
    },
  })
  if (connection.closed) return
  const lifetime = setTimeout(() => connection.close(), context.limits.sseLifetimeMs)
  const unwatch = stream.watch?.()
  const release = context.liveReaderTtl.hold(stream)
  connection.onClose(() => {
    clearTimeout(lifetime)
    unwatch?.()
    release()
  })
  const reader: SseReader = {
    context,
    stream,
    connection,
    encoding,
    cursor: responseCursors(request.target.url.searchParams.get("cursor")),
  }
  try {
    const caughtUp = await catchUp(reader, first)
    if (caughtUp === undefined) return
    const from = ownPosition(stream, caughtUp.after)
    // An offset short of the stream's own log (a fork's source changed under it): start again.
    if (from === undefined) return connection.close()
    await followLive(reader, from, caughtUp.next)
  } catch (error) {
    connection.close()
    reportFailure(context, error)
  }
}

/** Logs why a response that had begun ended early; a refusal of the protocol (a 410 past a trim) is no failure. */
function reportFailure(context: StreamsContext, error: unknown): void {
  if (error instanceof StreamsError) return
  if (error instanceof EngineUnavailableError) {
    context.logger.warn({ err: error }, "the engine is unavailable; an SSE reader resumes from its offset")
  } else {
    context.logger.error({ err: error }, "an SSE read failed; its reader resumes from its offset")
  }
}

/**
 * Writes the stream from the first page read on, a page at a time at the reader's pace, until
 * the tail. Returns where it got to, or `undefined` when the response is over (the stream was
 * closed and its end sent, or the client left).
 */
async function catchUp(
  reader: SseReader,
  first: Awaited<ReturnType<typeof readRange>>,
): Promise<{ readonly after: StreamOffset; readonly next: string } | undefined> {
  const { context, stream, connection, encoding } = reader
  let read = first
  // Bounded by the stream's length past the offset, a page per turn (and by the lifetime).
  for (;;) {
    // Closed since the request found it: perhaps by a delete, which is not the stream's end.
    if (read.closed && !stream.head.closed) await requireUndeleted(context, stream)
    const control = { next: read.next, cursor: reader.cursor(), upToDate: !read.more, closed: read.closed }
    const written = connection.writeFrame(eventsFrame(encoding, read.chunks, control))
    if (read.closed) {
      connection.close()
      return undefined
    }
    const after = parseStreamOffset(read.next)
    if (after === undefined) throw new Error(`A read ended at a malformed offset: ${read.next}.`)
    if (!read.more) return { after, next: read.next }
    if (!written) await connection.whenWritable()
    if (connection.closed) return undefined
    read = await readRange(context.engine, stream, after, context.limits)
  }
}

/**
 * Follows the stream's log after `from` (a position of its own log; `next` is the offset clients
 * know it by), writing each live batch's shared frame, until the stream closes or the response
 * ends. Resolves once live.
 */
async function followLive(reader: SseReader, from: string, next: string): Promise<void> {
  const { context, stream, connection, encoding } = reader
  let last: Entry | undefined
  const onEnd = (reason: FollowEnd, error?: unknown): void => {
    if (reason === "closed") {
      void endAtClose(reader, last === undefined ? next : exposedOffset(stream, last.position))
      return
    }
    if (reason === "error") reportFailure(context, error)
    // A gap or a deleted stream: the reader's next request is answered honestly (410, 404).
    connection.close(reason === "pending" ? "overflow" : "closed")
  }
  const follower = await follow(context.engine, stream.log, from, {
    pageSize: context.limits.readPageEntries,
    notHeld: "end",
    onEnd,
  })
  // Stopped when the response ends, however it ends (a write that overflows ends it at once).
  connection.onClose(() => follower.stop())
  if (follower.status === "not-held") return connection.close()
  const deliver = (entry: Entry): boolean => {
    last = entry
    return connection.writeFrame(context.liveFrames.frameOf(stream, encoding, entry, reader.cursor()))
  }
  const deliverBatch = (entries: readonly Entry[]): void => {
    last = entries[entries.length - 1]
    connection.writeFrame(context.liveFrames.frameOf(stream, encoding, entries, reader.cursor()))
  }
  await follower.start(deliver, () => connection.whenWritable(), deliverBatch)
}

/**
 * Ends the response at the close of the stream's log, at the offset `at`: with the final control
 * event, unless the close was the stream's delete (a soft delete closes the log), which ends it
 * as a delete does — without, so that the reader's next request hears of the delete (410).
 */
async function endAtClose(reader: SseReader, at: string): Promise<void> {
  const { context, stream, connection, encoding } = reader
  try {
    await requireUndeleted(context, stream)
    connection.writeFrame(eventsFrame(encoding, [], { next: at, cursor: "", upToDate: true, closed: true }))
  } catch (error) {
    reportFailure(context, error)
  }
  connection.close()
}
