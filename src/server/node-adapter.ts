import type { IncomingHttpHeaders } from "node:http"
import { type ConnectionSettings, type ConnectionSink, SSEConnection } from "./connection.js"
import { sseHeaders } from "./headers.js"
import type { Frame } from "./queue.js"

/** The parts of a `node:http` or `node:http2` (compat API) request the adapter reads. */
export interface NodeRequestLike {
  readonly headers: IncomingHttpHeaders
  readonly url?: string | undefined
  readonly httpVersionMajor: number
}

/** The parts of a `node:http` `ServerResponse` or `node:http2` `Http2ServerResponse` the adapter uses. */
export interface NodeResponseLike {
  readonly headersSent: boolean
  writeHead(statusCode: number, headers: Record<string, string>): unknown
  write(chunk: Frame): boolean
  end(): unknown
  destroy(error?: Error): unknown
  once(event: "close" | "drain", listener: () => void): unknown
  on(event: "error", listener: (error: Error) => void): unknown
}

class NodeResponseSink implements ConnectionSink {
  readonly #response: NodeResponseLike
  constructor(response: NodeResponseLike) {
    this.#response = response
  }
  write(frame: Frame): boolean {
    return this.#response.write(frame)
  }
  onceDrain(listener: () => void): void {
    this.#response.once("drain", listener)
  }
  end(): void {
    this.#response.end()
  }
  destroy(): void {
    this.#response.destroy()
  }
}

/** What {@link openNodeConnection} needs besides the request and response. */
export interface NodeConnectionSettings extends Omit<ConnectionSettings, "lastEventId"> {
  /** The resume cursor, already read from the request. */
  lastEventId: string
  /** Extra response headers. */
  headers?: Readonly<Record<string, string>> | undefined
  /** Written right after the headers so they leave at once (the `retry` hint or a comment). */
  firstFrame: Frame
}

/**
 * Turns a `node:http` / `node:http2` compat response into an event stream: 200 and the SSE
 * headers (no `Connection` header on HTTP/2), flushed at once by writing `firstFrame`.
 * Client disconnect (`close`, or a socket `error`) destroys the connection promptly.
 */
export function openNodeConnection(
  request: NodeRequestLike,
  response: NodeResponseLike,
  settings: NodeConnectionSettings,
): SSEConnection {
  if (response.headersSent) {
    throw new Error(
      "herald/server: this response already sent its headers, so it cannot become an event stream. " +
        "Open the SSE connection before writing anything to the response (in Fastify, call reply.hijack() and pass reply.raw).",
    )
  }
  response.writeHead(200, sseHeaders(request.httpVersionMajor, settings.headers))
  const connection = new SSEConnection(new NodeResponseSink(response), settings)
  // One closure serves both events: a socket error and a close both mean the client is gone.
  const gone = (): void => connection.destroy("client-gone")
  response.once("close", gone)
  response.on("error", gone)
  connection.writeFrame(settings.firstFrame)
  return connection
}
