import { type ConnectionSettings, type ConnectionSink, SSEConnection } from "./connection.js"
import { sseHeaders } from "./headers.js"
import type { Frame } from "./queue.js"

const utf8 = new TextEncoder()

/** Bytes the response body buffers before the connection sees backpressure. */
const BODY_HIGH_WATER_MARK = 64 * 1024

class StreamControllerSink implements ConnectionSink {
  controller: ReadableStreamDefaultController<Uint8Array> | undefined
  drainListener: (() => void) | undefined
  clientGone = false
  /** Called once the body ended and the runtime took its last byte: the transport is done. */
  onceRead: (() => void) | undefined
  ending = false
  write(frame: Frame): boolean {
    const controller = this.controller
    if (controller === undefined) return false
    controller.enqueue(typeof frame === "string" ? utf8.encode(frame) : frame)
    return (controller.desiredSize ?? 0) > 0
  }
  onceDrain(listener: () => void): void {
    this.drainListener = listener
  }
  end(): void {
    this.ending = true
    this.closeOnceRead()
  }
  /**
   * Ends the body once the runtime has read every queued byte; the runtime tells nothing else
   * of a body read to its end, and a graceful shutdown waits for exactly that.
   */
  closeOnceRead(): void {
    const controller = this.controller
    if (!this.ending || controller === undefined || (controller.desiredSize ?? 0) < BODY_HIGH_WATER_MARK)
      return
    this.ending = false
    this.close()
    const read = this.onceRead
    this.onceRead = undefined
    read?.()
  }
  close(): void {
    try {
      this.controller?.close()
    } catch {
      // Already closed or errored by the runtime: the stream is over either way.
    }
  }
  destroy(): void {
    // The client left: end quietly. Erroring the body would make the runtime log a failure.
    if (this.clientGone) {
      this.close()
      return
    }
    try {
      this.controller?.error(new Error("SSE connection aborted by the server"))
    } catch {
      // Already closed: nothing left to abort.
    }
  }
}

/** What {@link openFetchConnection} needs besides the request. */
export interface FetchConnectionSettings extends ConnectionSettings {
  headers?: Readonly<Record<string, string>> | undefined
  /** Written first so the runtime sends the headers at once. */
  firstFrame: Frame
}

/**
 * An event stream for Fetch-API servers (Hono, Next route handlers, Bun, Deno): returns the
 * connection and the `Response` to hand back, whose body streams with backpressure (the
 * runtime's reads drive `drain`). The connection closes when the body is cancelled or the
 * request's `signal` aborts — both mean the client left.
 */
export function openFetchConnection(
  request: Request,
  settings: FetchConnectionSettings,
): { connection: SSEConnection; response: Response } {
  const sink = new StreamControllerSink()
  const connection = new SSEConnection(sink, settings)
  const headers = sseHeaders(undefined, settings.headers)
  if (request.method === "HEAD") {
    // A HEAD response has no body, so no stream to keep open: its head alone is the answer.
    connection.destroy("closed")
    return { connection, response: new Response(null, { status: 200, headers }) }
  }
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        sink.controller = controller
      },
      pull() {
        const listener = sink.drainListener
        sink.drainListener = undefined
        listener?.()
        // Each read that leaves room calls this: the one that empties the queue ends the body.
        sink.closeOnceRead()
      },
      cancel() {
        sink.clientGone = true
        connection.destroy("client-gone")
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: BODY_HIGH_WATER_MARK }),
  )
  const clientGone = (): void => {
    sink.clientGone = true
    connection.destroy("client-gone")
  }
  // After a graceful end, "client-gone" only notes that the transport closed (see destroy).
  sink.onceRead = () => connection.destroy("client-gone")
  const signal = request.signal
  if (signal.aborted) clientGone()
  else signal.addEventListener("abort", clientGone, { once: true })
  connection.writeFrame(settings.firstFrame)
  // The runtime decides the HTTP version, so no Connection header (forbidden on HTTP/2).
  const response = new Response(body, { status: 200, headers })
  return { connection, response }
}
