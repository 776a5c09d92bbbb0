import { type IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http"
import { type ConnectionSettings, type ConnectionSink, SSEConnection } from "./connection.js"
import { sseHeaders } from "./headers.js"
import { forgetLastChunk, http1Chunk } from "./http1-chunk.js"
import type { Frame } from "./queue.js"
import { onResponseGone } from "./response-gone.js"

/** The parts of a `node:http` or `node:http2` (compat API) request the adapter reads. */
export interface NodeRequestLike {
  readonly headers: IncomingHttpHeaders
  readonly url?: string | undefined
  /** `"1.1"`, `"2.0"`, … */
  readonly httpVersion: string
  readonly method?: string | undefined
}

/** The parts of a `node:http` `ServerResponse` or `node:http2` `Http2ServerResponse` the adapter uses. */
export interface NodeResponseLike {
  readonly headersSent: boolean
  writeHead(statusCode: number, headers: Record<string, string>): unknown
  write(chunk: Frame): boolean
  end(): unknown
  destroy(error?: Error): unknown
  once(event: "drain", listener: () => void): unknown
  on(event: "close" | "error", listener: () => void): unknown
}

/** The socket of an HTTP/1.1 response, as far as the fast path writes to it. */
interface SocketLike {
  write(chunk: Uint8Array): boolean
  once(event: "drain", listener: () => void): unknown
  cork(): void
  uncork(): void
  readonly writableCorked: number
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

// Which turn of the event loop we are in, advanced by one nextTick per turn that writes anything.
let turn = 0
let turnEndScheduled = false
const corkedThisTurn: SocketLike[] = []

function endTurn(): void {
  turn++
  turnEndScheduled = false
  for (const socket of corkedThisTurn) socket.uncork()
  corkedThisTurn.length = 0
  forgetLastChunk()
}

/**
 * The HTTP/1.1 fast path: each frame goes to the socket as one ready-made chunk, in one write.
 * `ServerResponse#write` corks the socket on every write, writes the size line, the data and the
 * CRLF separately, and schedules an uncork per write — about 3× the CPU per event in a fan-out
 * to 10 000 sockets (bench/server-fanout). Here the first write of a turn goes out at once (the
 * fan-out case), and only a second write to the same socket in the same turn corks it, so a burst
 * of sends (a replay, a loop of publishes) still leaves in one system call at the end of the turn.
 * Ending and destroying are inherited: they go through the response, which writes the last chunk,
 * so the stream stays valid HTTP/1.1.
 */
class ChunkedSocketSink extends NodeResponseSink {
  readonly #socket: SocketLike
  #lastTurn = -1
  constructor(response: NodeResponseLike, socket: SocketLike) {
    super(response)
    this.#socket = socket
  }
  override write(frame: Frame): boolean {
    // An empty chunk is the chunked body's terminator: it would end the stream for the client.
    if (frame.length === 0) return true
    const socket = this.#socket
    if (this.#lastTurn !== turn) this.#lastTurn = turn
    else if (socket.writableCorked === 0) {
      socket.cork()
      corkedThisTurn.push(socket)
    }
    if (!turnEndScheduled) {
      turnEndScheduled = true
      process.nextTick(endTurn)
    }
    return socket.write(http1Chunk(frame))
  }
  override onceDrain(listener: () => void): void {
    this.#socket.once("drain", listener)
  }
}

/**
 * The socket to write chunks to directly, or `undefined` when only the response may be written:
 * HTTP/2 (frames, not chunks), HTTP/1.0 (no chunked encoding), HEAD (no body at all), a
 * response not yet owning its socket (a pipelined request waiting its turn), or a `write`
 * wrapped by middleware (which must keep seeing every byte).
 */
function directSocket(request: NodeRequestLike, response: NodeResponseLike): SocketLike | undefined {
  if (!(response instanceof ServerResponse) || request.method === "HEAD") return undefined
  if (!response.chunkedEncoding || response.write !== ServerResponse.prototype.write) return undefined
  return response.socket ?? undefined
}

/** Written to send the response head alone (see {@link openNodeConnection}). */
const HEAD_ONLY = new Uint8Array(0)
const utf8 = new TextEncoder()

function toBytes(frame: Frame): Uint8Array {
  return typeof frame === "string" ? utf8.encode(frame) : frame
}

const CONNECTION = Symbol("herald.connection")
type ResponseWithConnection = NodeResponseLike & { [CONNECTION]?: SSEConnection }

/**
 * A close or a socket error both mean the client is gone. One function shared by every response
 * (it finds its connection through `this`), so an idle connection carries no closure for it.
 */
function responseGone(this: ResponseWithConnection): void {
  this[CONNECTION]?.destroy("client-gone")
}

/** What {@link openNodeConnection} needs besides the request and response. */
export interface NodeConnectionSettings extends ConnectionSettings {
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
  response.writeHead(200, sseHeaders(request.httpVersion, settings.headers))
  const socket = directSocket(request, response)
  // Node writes the head joined to the first body chunk when that is a string, and then as
  // UTF-8, which would mangle header values that already hold UTF-8 bytes (see protocol/header-value.ts);
  // before bytes, it writes the head on its own, as Latin-1: byte for byte. So the first write is
  // bytes: the first frame's, through the response (so middleware wrapping write() sees it) …
  if (socket === undefined) response.write(toBytes(settings.firstFrame))
  else {
    // … or, on the fast path, none at all: the head goes out alone, then the frame, in one corked
    // write. Node then writes its header string as it is, and V8 flattens it in place on the way;
    // sent with the frame, a joined copy is written instead, and the response keeps the header
    // as the ~20-piece concatenation Node built it from: about 0.5 KiB per connection, for life.
    socket.cork()
    response.write(HEAD_ONLY)
    response.write(settings.firstFrame)
    socket.uncork()
  }
  const sink = socket === undefined ? new NodeResponseSink(response) : new ChunkedSocketSink(response, socket)
  const connection = new SSEConnection(sink, settings)
  ;(response as ResponseWithConnection)[CONNECTION] = connection
  if (request instanceof IncomingMessage && response instanceof ServerResponse) {
    onResponseGone(request, response, () => responseGone.call(response as ResponseWithConnection))
  } else response.on("close", responseGone)
  // Only response writes can make the response emit "error" (e.g. write-after-destroy); the fast
  // path writes to the socket, whose errors the HTTP server already handles.
  if (socket === undefined) response.on("error", responseGone)
  // A HEAD response has no body, so no stream to keep open: its head alone is the answer (Node
  // sends nothing of it before the end), as a monitor checking the endpoint expects.
  if (request.method === "HEAD") connection.close()
  // A client that left while the app was still deciding (an auth or database lookup before the
  // stream) closed the response before any listener was there to hear it: none would fire now.
  else if (goneAlready(request, response)) connection.destroy("client-gone")
  return connection
}

/** Whether the response's client has left already: the response, its HTTP/2 stream or its socket is destroyed. */
function goneAlready(request: NodeRequestLike, response: NodeResponseLike): boolean {
  const { destroyed, stream } = response as { destroyed?: boolean; stream?: { destroyed?: boolean } }
  const socket = (request as { socket?: { destroyed?: boolean } | null }).socket
  return destroyed === true || stream?.destroyed === true || socket?.destroyed === true
}
