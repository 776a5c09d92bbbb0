import { once } from "node:events"
import { type IncomingMessage, request } from "node:http"
import { connect as connectHttp2, constants as http2 } from "node:http2"
import { isIP } from "node:net"
import type { Readable } from "node:stream"
import { connect as connectTls, type TLSSocket } from "node:tls"
import type { HttpVersion } from "./observation.js"

/** What to send and how long to wait for the response's headers. */
export interface OpenOptions {
  readonly headers: Readonly<Record<string, string>>
  /** Give up when no headers came within this many ms. */
  readonly timeoutMs: number
  /** Accept any TLS certificate (a self-signed one on a test server), like `curl -k`. */
  readonly insecure: boolean
}

/** A response whose headers are in and whose body is still flowing. */
export interface OpenedStream {
  readonly httpVersion: HttpVersion
  readonly status: number
  /** Names lower-cased, repeated ones joined with `, `. */
  readonly headers: Record<string, string>
  readonly body: Readable
  /** Ends the request and its connection. */
  close(): void
}

/** No response headers came within the doctor's timeout. */
export class HeadersTimeoutError extends Error {
  override name = "HeadersTimeoutError"
  constructor(timeoutMs: number) {
    super(`no response headers within ${timeoutMs} ms`)
  }
}

/**
 * GETs `url` the way a browser's EventSource would, on a connection of its own, and resolves
 * once the headers are in. Raw `node:http`/`node:http2` rather than fetch: the doctor needs
 * the HTTP version, the undecoded body (to see compression) and every header as sent.
 * `https:` offers HTTP/2 by ALPN and falls back to HTTP/1.1; `http:` is HTTP/1.1.
 */
export async function openStream(url: URL, options: OpenOptions): Promise<OpenedStream> {
  // Not AbortSignal.timeout: the request holds on to its signal, and the body must outlive it.
  const controller = new AbortController()
  const timer = setTimeout(
    () => controller.abort(new HeadersTimeoutError(options.timeoutMs)),
    options.timeoutMs,
  )
  try {
    return await open(url, options, controller.signal)
  } finally {
    clearTimeout(timer)
  }
}

async function open(url: URL, options: OpenOptions, deadline: AbortSignal): Promise<OpenedStream> {
  if (url.protocol !== "https:") return openHttp1(url, options.headers, deadline)
  const host = hostOf(url)
  const socket = connectTls({
    host,
    port: Number(url.port || 443),
    // SNI takes a host name, never an address.
    ...(isIP(host) === 0 ? { servername: host } : {}),
    ALPNProtocols: ["h2", "http/1.1"],
    rejectUnauthorized: !options.insecure,
  })
  const abort = () => socket.destroy(deadline.reason as Error)
  deadline.addEventListener("abort", abort, { once: true })
  try {
    await once(socket, "secureConnect")
  } finally {
    deadline.removeEventListener("abort", abort)
  }
  return socket.alpnProtocol === "h2"
    ? openHttp2(url, socket, options.headers, deadline)
    : openHttp1(url, options.headers, deadline, socket)
}

async function openHttp1(
  url: URL,
  headers: Readonly<Record<string, string>>,
  deadline: AbortSignal,
  socket?: TLSSocket,
): Promise<OpenedStream> {
  const req = request({
    host: hostOf(url),
    port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
    path: `${url.pathname}${url.search}`,
    headers: { ...headers, host: url.host },
    // A connection of its own: the watch must not share a socket with the resume.
    agent: false,
    ...(socket === undefined ? {} : { createConnection: () => socket }),
    signal: deadline,
  })
  req.end()
  const [response] = (await once(req, "response")) as [IncomingMessage]
  return {
    httpVersion: response.httpVersion === "1.0" ? "1.0" : "1.1",
    status: response.statusCode ?? 0,
    headers: joinHeaders(response.headers),
    body: response,
    close: () => {
      req.destroy()
      socket?.destroy()
    },
  }
}

async function openHttp2(
  url: URL,
  socket: TLSSocket,
  headers: Readonly<Record<string, string>>,
  deadline: AbortSignal,
): Promise<OpenedStream> {
  const session = connectHttp2(url.origin, { createConnection: () => socket })
  // A session error also fails the stream below; this keeps it from being thrown as unhandled.
  session.on("error", () => {})
  const stream = session.request(
    { ":path": `${url.pathname}${url.search}`, ...headers },
    { signal: deadline },
  )
  try {
    const [responseHeaders] = (await once(stream, "response")) as [Record<string, string | string[] | number>]
    const { [http2.HTTP2_HEADER_STATUS]: status, ...rest } = responseHeaders
    return {
      httpVersion: "2",
      status: Number(status),
      headers: joinHeaders(rest),
      body: stream,
      close: () => {
        stream.close()
        session.destroy()
      },
    }
  } catch (error) {
    session.destroy()
    throw error
  }
}

/** Response headers as Node gives them, names lower-cased, repeated ones joined with `, `. */
export function joinHeaders(
  headers: Record<string, string | string[] | number | undefined>,
): Record<string, string> {
  const joined: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined)
      joined[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value)
  }
  return joined
}

/** The host to connect to: an IPv6 literal without the brackets URLs put around it. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "")
}
