import type { RequestListener } from "node:http"
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from "node:http2"
import type { Socket } from "node:net"
import type { Logger } from "../logger.js"
import { type HttpTimeouts, headersCheckIntervalMs } from "./http-server.js"
import { guardHttp2Sessions, type Http2Limits, http2SessionOptions } from "./http2-guard.js"
import type { TlsCredentials } from "./tls.js"

/** The HTTPS server of `herald serve`, and what its shutdown needs. */
export interface TlsServer {
  readonly server: Http2SecureServer
  /** Says to every HTTP/2 client that no new request will be taken here (GOAWAY). */
  goAway(): void
  /** Ends what is still open once the hub has closed its subscribers (as `closeAllConnections` does on HTTP/1.1). */
  closeAllConnections(): void
}

/**
 * HTTPS with HTTP/2, and HTTP/1.1 for clients that do not offer h2 in ALPN: a browser's
 * EventSources to one origin then share one connection instead of queuing behind HTTP/1.1's
 * six per origin. The `node:http2` compat request and response carry the surface the router,
 * the hub and the SSE layer use (`headers`, `socket.remoteAddress`, `writeHead`, `write`,
 * `end`, `destroy`, `close`), and `httpVersion` "2.0" keeps `Connection` off the SSE head.
 *
 * Hardened as the HTTP/1.1 server is: a TLS handshake gets the headers timeout (Node's
 * default is 120 s), HTTP/1.1 over TLS gets the same timeouts as plain HTTP/1.1, and each
 * HTTP/2 session is bounded by {@link guardHttp2Sessions}.
 */
export function createTlsServer(
  listener: RequestListener,
  credentials: TlsCredentials,
  timeouts: HttpTimeouts,
  limits: Http2Limits,
  logger: Logger,
): TlsServer {
  const server = createSecureServer(
    {
      cert: credentials.cert,
      key: credentials.key,
      allowHTTP1: true,
      handshakeTimeout: timeouts.headersTimeoutMs,
      ...http2SessionOptions(limits),
    },
    // The compat request and response stand in for node:http's (see above).
    listener as unknown as (request: Http2ServerRequest, response: Http2ServerResponse) => void,
  )
  // Read by Node's HTTP/1.1 code for the connections that fall back to it; as in createHttpServer.
  Object.assign(server, {
    requestTimeout: 0,
    headersTimeout: timeouts.headersTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    connectionsCheckingInterval: headersCheckIntervalMs(timeouts),
  })
  const sessions = guardHttp2Sessions(server, limits, timeouts, logger)
  // Every connection, whatever it became: HTTP/1.1, an HTTP/2 session, or neither yet (its TLS
  // handshake under way, or cut short by the client), which would hold the shutdown open.
  const sockets = new Set<Socket>()
  server.on("connection", (socket: Socket) => {
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
  })
  return {
    server,
    goAway: () => sessions.goAway(),
    closeAllConnections() {
      sessions.closeAll()
      for (const socket of sockets) socket.destroy()
    },
  }
}
