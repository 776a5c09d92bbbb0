import { createServer, type RequestListener, type Server } from "node:http"

/** The `node:http` server's timeouts, ms. */
export interface HttpTimeouts {
  /** A client that has not sent complete request headers by then gets 408 and is cut (slowloris). */
  readonly headersTimeoutMs: number
  /** An idle keep-alive connection is closed after this long without a new request. */
  readonly keepAliveTimeoutMs: number
}

/**
 * The defaults: headers well under Node's 60 s, since no honest client needs long to send them;
 * keep-alive longer than the 60 s idle timeout of nginx and AWS ALB, so that the proxy, not the
 * hub, closes an idle upstream connection (the other way round races a new request: a 502).
 */
export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = Object.freeze({
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 65_000,
})

/** How often Node checks the headers timeout, at most: its default (30 s) would let a 10 s bound run to 40 s. */
const MAX_CHECK_INTERVAL_MS = 1000

/** How often Node checks the headers timeout: a quarter of it, so that a cut comes at most 25% late. */
export function headersCheckIntervalMs(timeouts: HttpTimeouts): number {
  return Math.max(1, Math.min(MAX_CHECK_INTERVAL_MS, Math.floor(timeouts.headersTimeoutMs / 4)))
}

/**
 * The HTTP server of `herald serve`. Node's `requestTimeout` (5 minutes by default, counted
 * from the request's start) is off: it would cut a streaming (NDJSON) publish that is still
 * sending. A body that stalls is cut by the body idle timeout instead (`--body-idle-timeout`),
 * which every app applies to the bodies it reads: the hub's publishes, the AI endpoints'
 * requests, Durable Streams writes. A subscriber's stream is a response, which no server
 * timeout covers.
 */
export function createHttpServer(listener: RequestListener, timeouts: HttpTimeouts): Server {
  const server = createServer(
    {
      requestTimeout: 0,
      headersTimeout: timeouts.headersTimeoutMs,
      keepAliveTimeout: timeouts.keepAliveTimeoutMs,
      connectionsCheckingInterval: headersCheckIntervalMs(timeouts),
    },
    listener,
  )
  return server
}
