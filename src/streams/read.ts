/** GET: catch-up reads (protocol section 5.6), and the dispatch to long-poll and SSE. */

import { type ParsedPosition, parsePosition, START } from "../engine/position.js"
import { renderBody } from "./content.js"
import type { Reply, StreamRequest, StreamsContext } from "./context.js"
import { StreamsError } from "./errors.js"
import { dataCacheControl, entityTag, matchesEntityTag, NO_STORE } from "./headers.js"
import { longPoll } from "./long-poll.js"
import { requireStream } from "./lookup.js"
import { NOW, parseOffsetParameter, type ReadStart } from "./offsets.js"
import { type RangeRead, readRange } from "./read-range.js"
import { serveSse } from "./sse.js"
import { type Stream, tailOffset } from "./stream.js"

/** A read's parameters. */
export interface ReadQuery {
  readonly start: ReadStart | undefined
  /** The `offset` as sent (`-1` when absent), for the entity tag. */
  readonly offsetText: string
}

/** Answers a GET: a {@link Reply} for catch-up and long-poll, `undefined` when SSE answered itself. */
export async function readStream(
  context: StreamsContext,
  request: StreamRequest,
): Promise<Reply | undefined> {
  const params = request.url.searchParams
  const offsets = params.getAll("offset")
  const query: ReadQuery = { start: parseOffsetParameter(offsets), offsetText: offsets[0] ?? "-1" }
  const live = params.get("live")
  if (live !== null && live !== "long-poll" && live !== "sse") {
    throw new StreamsError(400, "`live` is long-poll or sse.")
  }
  if (live !== null && query.start === undefined) {
    throw new StreamsError(400, "A live read needs an `offset` (-1 for the beginning, now for the tail).")
  }
  const stream = await requireStream(context, request.path)
  request.caller.require("read", request.path, stream.owner)
  if (live === "sse") {
    await serveSse(context, request, stream, query.start as ReadStart)
    return undefined
  }
  if (live === "long-poll") return longPoll(context, request, stream, query)
  return catchUp(context, request, stream, query)
}

async function catchUp(
  context: StreamsContext,
  request: StreamRequest,
  stream: Stream,
  query: ReadQuery,
): Promise<Reply> {
  if (query.start === NOW) {
    // A read: it slides the TTL (section 5.1), as any other read does.
    await context.engine.read(stream.log, stream.head.tail, 1)
    return {
      status: 200,
      headers: {
        "content-type": stream.contentType,
        "stream-next-offset": tailOffset(stream),
        "stream-up-to-date": "true",
        "cache-control": NO_STORE,
        ...(stream.head.closed ? { "stream-closed": "true" } : {}),
      },
      body: renderBody(stream.json, []),
    }
  }
  const read = await readRange(context.engine, stream, query.start ?? START, context.limits)
  return readReply(context, request, stream, read, query.offsetText, undefined)
}

/** The reply carrying a read's data (catch-up, or a long-poll that found data). */
export function readReply(
  context: StreamsContext,
  request: StreamRequest,
  stream: Stream,
  read: RangeRead,
  offsetText: string,
  cursor: string | undefined,
): Reply {
  const tag = entityTag(offsetText, read.next, read.closed)
  const headers: Record<string, string> = {
    "content-type": stream.contentType,
    "stream-next-offset": read.next,
    etag: tag,
    "cache-control": read.chunks.length > 0 ? dataCacheControl(context.authenticated) : NO_STORE,
  }
  if (!read.more) headers["stream-up-to-date"] = "true"
  if (read.closed) headers["stream-closed"] = "true"
  if (cursor !== undefined) headers["stream-cursor"] = cursor
  if (matchesEntityTag(request.request.headers["if-none-match"], tag)) return { status: 304, headers }
  return { status: 200, headers, body: renderBody(stream.json, read.chunks) }
}

/** The position a live read starts after: `now` is the tail when the request began. */
export function liveStart(stream: Stream, start: ReadStart): typeof START | ParsedPosition {
  return start === NOW ? (parsePosition(tailOffset(stream)) as ParsedPosition) : start
}
