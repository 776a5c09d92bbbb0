/** DELETE (protocol section 5.4): for good, or a soft delete while forks still read the stream. */

import type { Reply, StreamRequest, StreamsContext } from "./context.js"
import { StreamsError } from "./errors.js"
import { deleteForGood, hasLiveForks } from "./fork.js"
import { requireStream } from "./lookup.js"

export async function deleteStream(context: StreamsContext, request: StreamRequest): Promise<Reply> {
  const stream = await requireStream(context, request.path)
  request.caller.require("delete", request.path, stream.owner)
  if (await hasLiveForks(context, request.path)) {
    // Closed first, so that no append lands after the delete; the stop flag marks it deleted.
    // Both only in the incarnation this request read: deleted meanwhile, and perhaps made again
    // (before the close or between the two), that one is not this request's to close or mark.
    const { epoch } = stream.head
    const closed = await context.engine.append(stream.log, [], { close: true, epoch })
    const missing = () => new StreamsError(404, `There is no stream at ${request.path}.`)
    if (closed.status === "missing") throw missing()
    if (!(await context.engine.requestStop(stream.log, { epoch }))) throw missing()
  } else {
    await deleteForGood(context, stream)
  }
  return { status: 204, headers: {} }
}
