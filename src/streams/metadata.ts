/** HEAD: a stream's metadata (protocol section 5.5). `head` does not touch a sliding TTL. */

import type { Reply } from "./context.js"
import { NO_STORE } from "./headers.js"
import { type Stream, tailOffset } from "./stream.js"

/** Answers a HEAD of the stream `open` finds (and checks the caller's access to). */
export async function streamMetadata(open: () => Promise<Stream>): Promise<Reply> {
  const stream = await open()
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
