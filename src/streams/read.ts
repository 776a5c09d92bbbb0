/** GET: catch-up reads (protocol section 5.6), and the dispatch to long-poll and SSE. */

import { START } from "../engine/position.js"
import { renderBody } from "./content.js"
import type { Reply, StreamRequest, StreamsContext } from "./context.js"
import { StreamsError } from "./errors.js"
import { NO_STORE } from "./headers.js"
import { longPoll } from "./long-poll.js"
import { NOW, parseOffsetParameter, type ReadStart } from "./offsets.js"
import { readRange } from "./read-range.js"
import { type ReadQuery, readReply } from "./read-reply.js"
import { serveSse } from "./sse.js"
import { type Stream, tailOffset } from "./stream.js"

/**
 * Answers a GET of the stream `open` finds (and checks the caller's access to): a {@link Reply}
 * for catch-up and long-poll, `undefined` when SSE answered itself.
 */
export async function readStream(
  context: StreamsContext,
  request: StreamRequest,
  open: () => Promise<Stream>,
): Promise<Reply | undefined> {
  const params = request.target.url.searchParams
  const offsets = params.getAll("offset")
  const query: ReadQuery = { start: parseOffsetParameter(offsets), offsetText: offsets[0] ?? "-1" }
  const live = params.get("live")
  if (live !== null && live !== "long-poll" && live !== "sse") {
    throw new StreamsError(400, "`live` is long-poll or sse.")
  }
  if (live !== null && query.start === undefined) {
    throw new StreamsError(400, "A live read needs an `offset` (-1 for the beginning, now for the tail).")
  }
  if (live !== null) context.admit(request.request, request.response)
  const stream = await open()
  // Every read below slides the stream's TTL (section 5.1): a fork's marker goes on with it.
  await context.forkMarkerTtl.touched(stream)
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
  return readReply(context, request, stream, read, query, undefined)
}
