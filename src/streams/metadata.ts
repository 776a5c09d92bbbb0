/** HEAD: a stream's metadata (protocol section 5.5). `head` does not touch a sliding TTL. */

import type { Reply, StreamRequest, StreamsContext } from "./context.js"
import { NO_STORE } from "./headers.js"
import { requireStream } from "./lookup.js"
import { tailOffset } from "./stream.js"

export async function streamMetadata(context: StreamsContext, request: StreamRequest): Promise<Reply> {
  const stream = await requireStream(context, request.path)
  request.caller.require("read", request.path, stream.owner)
  const { ttlMs, expiresAt } = stream.head.config
  return {
    status: 200,
    headers: {
      "content-type": stream.contentType,
      "stream-next-offset": tailOffset(stream),
      "cache-control": NO_STORE,
      ...(ttlMs === undefined ? {} : { "stream-ttl": String(Math.floor(ttlMs / 1000)) }),
      ...(expiresAt === undefined ? {} : { "stream-expires-at": new Date(expiresAt).toISOString() }),
      ...(stream.head.closed ? { "stream-closed": "true" } : {}),
    },
  }
}
