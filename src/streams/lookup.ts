import { continuesEpoch } from "../engine/former-epochs.js"
import type { StreamRequest, StreamsContext } from "./context.js"
import { StreamsError } from "./errors.js"
import { deleteForGood, hasLiveForks } from "./fork.js"
import { loadStream, logOf, type Stream } from "./stream.js"

/**
 * The stream at `path` for a client operation: a 404 when there is none, a 410 when it is
 * soft-deleted (section 4.2). A soft-deleted stream whose forks are all gone is collected here
 * (then a 404), so a source whose last fork expired does not linger; one whose log is still open
 * (its delete failed between the mark and the close) has its log closed here, so a retried
 * DELETE (or any request) finishes that delete and its live readers end.
 */
export async function requireStream(context: StreamsContext, path: string): Promise<Stream> {
  const stream = await loadStream(context.engine, path)
  if (stream === undefined) throw new StreamsError(404, `There is no stream at ${path}.`)
  if (!stream.softDeleted) return stream
  if (await hasLiveForks(context, path)) {
    if (!stream.head.closed) await closeDeleted(context, stream)
    throw new StreamsError(410, `The stream at ${path} was deleted; only its forks still read its data.`)
  }
  await deleteForGood(context, stream)
  throw new StreamsError(404, `There is no stream at ${path}.`)
}

/**
 * Closes the log of `stream`, marked deleted, so no append lands after the delete and its live
 * readers see the end. Only in the incarnation `stream` is: one made at its path since is not
 * this delete's to close. False when that incarnation is gone.
 */
export async function closeDeleted(context: StreamsContext, stream: Stream): Promise<boolean> {
  const closed = await context.engine.append(stream.log, [], { close: true, epoch: stream.head.epoch })
  if (closed.status === "missing") return false
  // The close slid the stream's TTL: if it is a fork, its forks still read it through its marker.
  await context.forkMarkerTtl.touched(stream)
  return true
}

/** The stream a request reads (GET, HEAD): found as {@link requireStream} does, and the caller's `read` checked. */
export async function openForRead(context: StreamsContext, request: StreamRequest): Promise<Stream> {
  const stream = await requireStream(context, request.path)
  request.caller.require("read", request.path, stream.owner)
  return stream
}

/**
 * Throws what a read of `stream` is answered now (410, 404) if it was deleted since the request
 * found it. A live read that saw the stream's log close asks this before it reports the end of
 * the stream, after which clients stop reading: a delete while forks read the stream closes its
 * log too (delete.ts). Not for a view's log (view.ts): its stop flag is the app's, not a delete.
 */
export async function requireUndeleted(context: StreamsContext, stream: Stream): Promise<void> {
  if (stream.log !== logOf(stream.path)) return
  const now = await requireStream(context, stream.path)
  if (!continuesEpoch(now.head, stream.head.epoch)) {
    throw new StreamsError(
      410,
      `The stream this read followed was deleted; ${stream.path} is another one now.`,
    )
  }
}
