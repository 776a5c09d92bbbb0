import { once } from "node:events"
import { createServer, type IncomingHttpHeaders, request, type Server } from "node:http"
import { type AddressInfo, connect, type Socket } from "node:net"
import type { Logger } from "../../src/logger.js"
import { createParser, type ServerSentEvent } from "../../src/protocol/index.js"

/** Starts a node:http server on an ephemeral loopback port. */
export async function listen(
  handler: Parameters<typeof createServer>[1],
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler)
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  const { port } = server.address() as AddressInfo
  return { server, url: `http://127.0.0.1:${port}` }
}

/** Closes a server and every connection still open on it. */
export async function stop(server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

/** A test SSE client: everything parsed off one response, plus ways to wait for it. */
export interface StreamReader {
  status: number
  headers: IncomingHttpHeaders
  events: ServerSentEvent[]
  comments: string[]
  retries: number[]
  ended: Promise<void>
  /** Resolves once at least `count` events arrived. */
  waitForEvents(count: number): Promise<ServerSentEvent[]>
  /** Resolves once at least `count` comments arrived. */
  waitForComments(count: number): Promise<string[]>
  close(): void
}

/**
 * Opens `url` as an event stream with node:http and parses it with Herald's own parser. GET by
 * default; `init` sends another method, with a body.
 */
export async function openStream(
  url: string,
  headers: Record<string, string> = {},
  init: { method?: string; body?: string } = {},
): Promise<StreamReader> {
  const req = request(url, {
    method: init.method ?? "GET",
    headers: { accept: "text/event-stream", ...headers },
  })
  req.end(init.body)
  const [res] = (await once(req, "response")) as [import("node:http").IncomingMessage]
  const reader: StreamReader = {
    status: res.statusCode ?? 0,
    headers: res.headers,
    events: [],
    comments: [],
    retries: [],
    ended: new Promise((resolve) => {
      res.once("close", resolve)
      res.once("end", resolve)
    }),
    waitForEvents: (count) =>
      waitUntil(
        () => reader.events.length >= count,
        () => reader.events,
      ),
    waitForComments: (count) =>
      waitUntil(
        () => reader.comments.length >= count,
        () => reader.comments,
      ),
    close: () => req.destroy(),
  }
  const parser = createParser({
    onEvent: (event) => reader.events.push(event),
    onComment: (text) => reader.comments.push(text),
    onRetry: (ms) => reader.retries.push(ms),
  })
  res.on("data", (chunk: Buffer) => parser.feed(chunk))
  res.on("error", () => {})
  return reader
}

/** Polls `condition` every 5 ms (for at most 5 s). */
export async function waitUntil<T>(condition: () => boolean, value: () => T, timeoutMs = 5000): Promise<T> {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return value()
}

/**
 * Connects a raw client that sends an SSE request and then never reads, so the server's writes
 * back up; resolves once the server has opened the connection (the first one in `opened`).
 */
export async function connectStalledReader<T>(
  server: Server,
  opened: T[],
): Promise<{ socket: Socket; connection: T }> {
  const socket = connect((server.address() as AddressInfo).port, "127.0.0.1")
  await once(socket, "connect")
  socket.write("GET / HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
  socket.pause()
  const connection = await waitUntil(
    () => opened.length === 1,
    () => opened[0] as T,
  )
  return { socket, connection }
}

/** One call to a {@link recordingLogger}. */
export interface LogEntry {
  readonly level: "error" | "warn" | "info" | "debug"
  readonly fields: Record<string, unknown>
  readonly message: string
}

/** A logger that keeps what it is given, for tests that check what library code reports. */
export function recordingLogger(): Logger & { readonly entries: LogEntry[] } {
  const entries: LogEntry[] = []
  const at =
    (level: LogEntry["level"]) =>
    (fields: object, message: string): void =>
      void entries.push({ level, fields: fields as Record<string, unknown>, message })
  return { entries, error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") }
}

/**
 * Opens a raw connection to `port` of `host` and writes `text`; `closed` resolves with all that
 * came back once the server closes the connection, `received()` is what came so far. The caller
 * destroys the socket when done.
 */
export async function rawExchange(
  port: number,
  text: string,
  host = "127.0.0.1",
): Promise<{ socket: Socket; closed: Promise<string>; received(): string }> {
  const socket = connect(port, host)
  await once(socket, "connect")
  let received = ""
  socket.setEncoding("utf8")
  socket.on("data", (chunk: string) => {
    received += chunk
  })
  // A reset after the answer (a byte that crossed the server's close) ends the exchange like a close.
  socket.on("error", () => undefined)
  const closed = new Promise<string>((resolve) => socket.once("close", () => resolve(received)))
  socket.write(text)
  return { socket, closed, received: () => received }
}

/** A response head read byte for byte, and the socket, left open, that carries the rest. */
export interface RawResponse {
  readonly status: number
  /** Each header's value as the bytes that came on the wire, by lower-case name. */
  readonly headers: ReadonlyMap<string, Buffer>
  /** Whatever of the body came with the head. */
  readonly bodyStart: Buffer
  readonly socket: Socket
}

/**
 * Sends `head` (request line and headers, given as bytes so a test can put any byte in a header)
 * to `origin` and reads the response head: what a client that echoes header bytes sees.
 */
export async function rawRequest(origin: string, head: Buffer): Promise<RawResponse> {
  const { hostname, port } = new URL(origin)
  const socket = connect(Number(port), hostname)
  await once(socket, "connect")
  socket.write(head)
  return await new Promise((resolve, reject) => {
    let received = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk])
      const end = received.indexOf("\r\n\r\n")
      if (end === -1) return
      // Paused with the rest unread: a test that wants the body adds its own "data" listener.
      socket.off("data", onData)
      socket.pause()
      const lines = received.subarray(0, end).toString("latin1").split("\r\n")
      const headers = new Map<string, Buffer>()
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":")
        headers.set(line.slice(0, colon).toLowerCase(), Buffer.from(line.slice(colon + 1).trim(), "latin1"))
      }
      resolve({
        status: Number(lines[0]?.split(" ")[1]),
        headers,
        bodyStart: received.subarray(end + 4),
        socket,
      })
    }
    socket.on("data", onData)
    socket.once("error", reject)
    socket.once("end", () => reject(new Error(`the connection ended before a response head: ${received}`)))
  })
}
