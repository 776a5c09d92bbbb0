/** GET `live=long-poll` (protocol section 5.7): data at once if there is some, else wait for it (bounded), else 204. */

import { onResponseGone } from "../server/response-gone.js"
import type { Reply, StreamRequest, StreamsContext } from "./context.js"
import { nextCursor } from "./cursor.js"
import { NO_STORE } from "./headers.js"
import { requireUndeleted } from "./lookup.js"
import { parseStreamOffset, type ReadStart } from "./offsets.js"
import { readRange } from "./read-range.js"
import { liveStart, type ReadQuery, readReply } from "./read-reply.js"
import type { Stream } from "./stream.js"
import { watchLog } from "./wake.js"

export async function longPoll(
  context: StreamsContext,
  request: StreamRequest,
  stream: Stream,
  query: ReadQuery,
): Promise<Reply | undefined> {
  const cursor = nextCursor(request.target.url.searchParams.get("cursor"))
  // Watch first: an append between the read and the wait still wakes it.
  const wake = await watchLog(context.engine, stream.log)
  const unwatch = stream.watch?.()
  const release = context.liveReaderTtl.hold(stream)
  let gone = false
  // Not the response's close alone: one queued behind another on a pipelined connection never
  // emits it when the socket dies, and would hold its watch until the timeout.
  const forget = onResponseGone(request.request, request.response, () => {
    gone = true
    wake.interrupt()
  })
  try {
    let after = liveStart(stream, query.start as ReadStart)
    const deadline = Date.now() + context.limits.longPollTimeoutMs
    // Bounded by the deadline: each turn waits for a wake or for the time left.
    for (;;) {
      const read = await readRange(context.engine, stream, after, context.limits)
      // Closed since the request found it: perhaps by a delete, answered as a read of it is.
      if (read.closed && !stream.head.closed) await requireUndeleted(context, stream)
      if (read.chunks.length > 0) return readReply(context, request, stream, read, query, cursor)
      const left = deadline - Date.now()
      if (read.closed || left <= 0) {
        return {
          status: 204,
          headers: {
            "stream-next-offset": read.next,
            "stream-up-to-date": "true",
            "cache-control": NO_STORE,
            ...(read.closed ? { "stream-closed": "true" } : { "stream-cursor": cursor }),
          },
        }
      }
      await wake.next(left)
      if (gone) return undefined
      after = parseStreamOffset(read.next) ?? after
    }
  } finally {
    forget()
    wake.stop()
    unwatch?.()
    release()
  }
}
