/** DELETE (protocol section 5.4): for good, or a soft delete while forks still read the stream. */

import type { Reply, StreamRequest, StreamsContext } from "./context.js"
import { StreamsError } from "./errors.js"
import { deleteForGood, hasLiveForks } from "./fork.js"
import { closeDeleted, requireStream } from "./lookup.js"

export async function deleteStream(context: StreamsContext, request: StreamRequest): Promise<Reply> {
  const stream = await requireStream(context, request.path)
  request.caller.require("delete", request.path, stream.owner)
  if (await hasLiveForks(context, request.path)) {
    // The stop flag marks it deleted; the close, before the answer, keeps any append from
    // landing after the delete. The flag first: a live reader that sees the close asks whether
    // it was this delete, and must find the flag (lookup.ts requireUndeleted). Both only in the
    // incarnation this request read: deleted meanwhile, and perhaps made again (before the mark
    // or between the two), that one is not this request's to mark or close.
    const { epoch } = stream.head
    const missing = () => new StreamsError(404, `There is no stream at ${request.path}.`)
    if (!(await context.engine.requestStop(stream.log, { epoch }))) throw missing()
    // If the close fails, the next request that finds the stream finishes it (requireStream).
    if (!(await closeDeleted(context, stream))) throw missing()
  } else {
    await deleteForGood(context, stream)
  }
  return { status: 204, headers: {} }
}
