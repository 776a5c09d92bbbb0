import type { RequestListener } from "node:http"
import type { Socket } from "node:net"

/**
 * Requests one HTTP/1.1 connection may send ahead of their answers (pipelining) by default.
 * Browsers never pipeline, and the few clients that do send a handful; each request waiting its
 * turn keeps its whole answer in memory (a catch-up read's megabyte) until the ones before it
 * are sent, so a client that pipelines hundreds and never reads holds hundreds of answers.
 */
export const DEFAULT_MAX_PIPELINED_REQUESTS = 16

/**
 * `listener`, with at most `max` requests unanswered at once on one HTTP/1 connection: the one
 * past it closes the connection (a client that awaited its answers never sends it). HTTP/2
 * bounds its streams per connection itself (`--max-concurrent-streams`).
 */
export function limitPipelining(listener: RequestListener, max: number): RequestListener {
  const unanswered = new WeakMap<Socket, number>()
  return (request, response) => {
    const socket = request.socket
    if (request.httpVersionMajor !== 1 || socket === null) return listener(request, response)
    const count = (unanswered.get(socket) ?? 0) + 1
    if (count > max) {
      socket.destroy()
      return
    }
    unanswered.set(socket, count)
    response.once("close", () => unanswered.set(socket, (unanswered.get(socket) ?? 1) - 1))
    return listener(request, response)
  }
}
