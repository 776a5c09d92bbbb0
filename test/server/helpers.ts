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
