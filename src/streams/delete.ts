/** DELETE (protocol section 5.4): for good, or a soft delete while forks still read the stream. */

import type { Reply, StreamRequest, StreamsContext } from "./context.js"
import { StreamsError } from "./errors.js"
import { deleteForGood, hasLiveForks } from "./fork.js"
import { requireStream } from "./lookup.js"

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
    const closed = await context.engine.append(stream.log, [], { close: true, epoch })
    if (closed.status === "missing") throw missing()
    // The close slid the stream's TTL: if it is a fork, its forks still read it through its marker.
    await context.forkMarkerTtl.touched(stream)
  } else {
    await deleteForGood(context, stream)
  }
  return { status: 204, headers: {} }
}
