/** The reply of a read that found data, and where a live read starts: shared by catch-up, long-poll and SSE. */

import type { START } from "../engine/position.js"
import { renderBody } from "./content.js"
import type { Reply, StreamRequest, StreamsContext } from "./context.js"
import { dataCacheControl, entityTag, matchesEntityTag, NO_STORE } from "./headers.js"
import { NOW, parseStreamOffset, type ReadStart, type StreamOffset } from "./offsets.js"
import type { RangeRead } from "./read-range.js"
import { type Stream, tailOffset } from "./stream.js"

/** A read's parameters. */
export interface ReadQuery {
  readonly start: ReadStart | undefined
  /** The `offset` as sent (`-1` when absent), for the entity tag. */
  readonly offsetText: string
}

/** The reply carrying a read's data (catch-up, or a long-poll that found data). */
export function readReply(
  context: StreamsContext,
  request: StreamRequest,
  stream: Stream,
  read: RangeRead,
  query: ReadQuery,
  cursor: string | undefined,
): Reply {
  const tag = entityTag(query.offsetText, read.next, read.closed ? "closed" : read.more ? "more" : "tail")
  const headers: Record<string, string> = {
    "content-type": stream.contentType,
    "stream-next-offset": read.next,
    etag: tag,
    // A read from `now` (a long-poll's) answers what came after the time it was asked: a
    // cache would hand a later reader of the same URL data from before its `now`.
    "cache-control":
      read.chunks.length > 0 && query.start !== NOW
        ? dataCacheControl(
            read.more || read.closed || cursor !== undefined,
            context.authenticated || stream.private === true,
          )
        : NO_STORE,
  }
  if (!read.more) headers["stream-up-to-date"] = "true"
  if (read.closed) headers["stream-closed"] = "true"
  if (cursor !== undefined) headers["stream-cursor"] = cursor
  if (matchesEntityTag(request.request.headers["if-none-match"], tag)) return { status: 304, headers }
  return { status: 200, headers, body: renderBody(stream.json, read.chunks) }
}

/** The position a live read starts after: `now` is the tail when the request began. */
export function liveStart(stream: Stream, start: ReadStart): typeof START | StreamOffset {
  return start === NOW ? (parseStreamOffset(tailOffset(stream)) as StreamOffset) : start
}
