import type { StreamRequest, StreamsContext } from "./context.js"
import { StreamsError } from "./errors.js"
import { deleteForGood, hasLiveForks } from "./fork.js"
import { loadStream, type Stream } from "./stream.js"

/**
 * The stream at `path` for a client operation: a 404 when there is none, a 410 when it is
 * soft-deleted (section 4.2). A soft-deleted stream whose forks are all gone is collected here
 * (then a 404), so a source whose last fork expired does not linger.
 */
export async function requireStream(context: StreamsContext, path: string): Promise<Stream> {
  const stream = await loadStream(context.engine, path)
  if (stream === undefined) throw new StreamsError(404, `There is no stream at ${path}.`)
  if (!stream.softDeleted) return stream
  if (await hasLiveForks(context, path)) {
    throw new StreamsError(410, `The stream at ${path} was deleted; only its forks still read its data.`)
  }
  await deleteForGood(context, stream)
  throw new StreamsError(404, `There is no stream at ${path}.`)
}

/** The stream a request reads (GET, HEAD): found as {@link requireStream} does, and the caller's `read` checked. */
export async function openForRead(context: StreamsContext, request: StreamRequest): Promise<Stream> {
  const stream = await requireStream(context, request.path)
  request.caller.require("read", request.path, stream.owner)
  return stream
}
