import type { IncomingMessage, ServerResponse } from "node:http"
import type { Socket } from "node:net"
import { http2StreamOf } from "./http2-stream.js"

/**
 * What to call when each HTTP/1 socket closes: one `close` listener per socket however many
 * requests it has pipelined (one each would pass Node's 10 and warn of a leak).
 */
const onSocketClose = new WeakMap<Socket, Set<() => void>>()

function whenSocketCloses(socket: Socket, callback: () => void): () => void {
  let callbacks = onSocketClose.get(socket)
  if (callbacks === undefined) {
    const registered = new Set<() => void>()
    onSocketClose.set(socket, registered)
    socket.once("close", () => {
      onSocketClose.delete(socket)
      for (const each of registered) each()
    })
    callbacks = registered
  }
  callbacks.add(callback)
  const added = callbacks
  return () => added.delete(callback)
}

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
    forgetSocket()
  }
  const gone = (): void => {
    if (called) return
    forget()
    listener()
  }
  response.once("close", gone)
  const forgetSocket = socket === undefined ? () => {} : whenSocketCloses(socket, gone)
  return forget
}
