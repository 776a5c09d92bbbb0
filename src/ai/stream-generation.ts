import type { Engine, Entry } from "../engine/engine.js"
import { type FollowEnd, follow } from "../engine/follow.js"
import { START } from "../engine/position.js"
import type { Logger } from "../logger.js"
import { encode } from "../protocol/index.js"
import type { SSEConnection } from "../server/index.js"
import { type Cursor, eventId } from "./cursor.js"
import type { ErrorEntry } from "./entries.js"
import type { OpenStreams, StreamInterruption } from "./open-streams.js"
import { parseEntry } from "./stored-entry.js"
import { STREAM_INTERRUPTED } from "./stream-interrupted.js"
import type { View } from "./view.js"

/**
 * Streams a generation to one SSE connection, from its log only (never from the upstream), so a
 * client sees nothing the log does not hold. Every entry is rendered from the first one, so the
 * view's state (open blocks, the role chunk) is the same on every node and every resume; events
 * up to `cursor` are rendered but not sent. The stream ends after the terminal entry; a follower
 * that ends otherwise (the log deleted or expired) closes it too, and the client resumes.
 * `open` ends it when the store does not answer for long, whichever node runs it (a follower
 * waiting on a store that does not answer, a frozen Redis, hears neither an entry nor an error).
 * Resolves once the follower is live.
 */
export async function streamGeneration(
  engine: Engine,
  log: string,
  view: View,
  cursor: Cursor | undefined,
  connection: SSEConnection,
  open: OpenStreams,
  logger: Logger,
): Promise<void> {
  // Said in the view's own error shape, without an id: a client that cannot resume (the
  // official SDKs) would otherwise take what it got for the whole answer.
  const endEarly = (reason: EarlyEnd) => {
    // A stream that ended already (its end delivered, its client gone) says nothing more.
    if (connection.closed) return
    let frame = ""
    for (const event of view.render(earlyEnd(reason))) frame += encode(event)
    connection.writeFrame(frame)
    connection.close()
  }
  const follower = await follow(engine, log, START, {
    notHeld: "end",
    onEnd: (reason, error) => {
      if (reason === "closed") connection.close()
      else {
        logger.warn({ err: error, log, reason }, "a generation's stream ended early")
        endEarly(reason)
      }
    },
  })
  connection.onClose(open.add(endEarly))
  connection.onClose(() => follower.stop())
  // From the start, a log not held is gone: deleted or expired since it was found, before its
  // follower was live (the response's head is out already), said as when it goes under a reader.
  if (follower.status === "not-held") {
    endEarly("deleted")
    return
  }
  const deliver = (entry: Entry): boolean => {
    const events = view.render(parseEntry(entry.data))
    const skip =
      cursor === undefined || entry.seq > cursor.seq ? 0 : skipped(entry.seq, cursor, events.length)
    if (skip >= events.length) return true
    let frame = ""
    for (let index = skip; index < events.length; index++) {
      const event = events[index] as (typeof events)[number]
      frame += encode({ ...event, id: eventId(entry.position, index, events.length) })
    }
    return connection.writeFrame(frame)
  }
  await follower.start(deliver, () => connection.whenWritable())
}

/** How many of the `count` events of entry `seq` the reader at `cursor` has. */
function skipped(seq: number, cursor: Cursor, count: number): number {
  if (seq < cursor.seq) return count
  return cursor.eventsSeen ?? count
}

/** Why a stream may end before its generation's end. */
type EarlyEnd = Exclude<FollowEnd, "closed"> | StreamInterruption

/** Why a stream ended before its generation's end, as an error entry the views render. */
function earlyEnd(reason: EarlyEnd): ErrorEntry {
  if (reason === "gap" || reason === "deleted") {
    return {
      type: "error",
      errorType: "generation_lost",
      afterOutput: true,
      message:
        "the generation's log is gone from the store (deleted, expired, or lost by the store): its answer cannot be read on",
    }
  }
  if (reason === "shutdown") {
    return {
      type: "error",
      errorType: "stream_interrupted",
      afterOutput: true,
      message: STREAM_INTERRUPTED.shutdown,
    }
  }
  return {
    type: "error",
    errorType: "stream_interrupted",
    afterOutput: true,
    message: STREAM_INTERRUPTED.stopped,
  }
}
