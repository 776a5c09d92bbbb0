import type { IncomingMessage, ServerResponse } from "node:http"
import { http2StreamOf } from "./http2-stream.js"

/**
 * Calls `listener` once, when `response` is done with: it closed, or, over HTTP/1, its
 * connection's socket closed. A response queued behind an earlier one on a pipelined HTTP/1
 * connection has no socket of its own yet, and never emits `close` if the socket dies first: a
 * slot or a subscription released on `close` alone would stay held for good. Returns what takes
 * the listener off again, uncalled.
 */
export function onResponseGone(
  request: IncomingMessage,
  response: ServerResponse,
  listener: () => void,
): () => void {
  const socket = http2StreamOf(request) === undefined ? (request.socket ?? undefined) : undefined
  let called = false
  const forget = (): void => {
    called = true
    response.off("close", gone)
    socket?.off("close", gone)
  }
  const gone = (): void => {
    if (called) return
    forget()
    listener()
  }
  response.once("close", gone)
  socket?.once("close", gone)
  return forget
}
