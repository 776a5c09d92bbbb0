import {
  constants,
  type Http2SecureServer,
  type SecureServerOptions,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2"
import type { Logger } from "../logger.js"
import type { HttpTimeouts } from "./http-server.js"

/** Bounds on each HTTP/2 connection (session) of `herald serve`. */
export interface Http2Limits {
  /** Streams a client may have open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams: number
  /** Past this many streams reset within one second, the connection is closed (rapid reset). */
  readonly maxStreamResetsPerSecond: number
}

/**
 * The defaults. Node leaves concurrent streams unbounded (2^32 − 1); 100 is what RFC 9113
 * recommends as a minimum and what nginx and most servers advertise. Resets: a page that
 * closes all its EventSources at once resets up to 100 streams, twice that in a second is
 * no browser; a rapid-reset attack sends thousands.
 */
export const DEFAULT_HTTP2_LIMITS: Http2Limits = Object.freeze({
  maxConcurrentStreams: 100,
  maxStreamResetsPerSecond: 200,
})

/**
 * Node 20's own protections, set explicitly so that they show here and hold whatever Node's
 * defaults become. `maxSessionRejectedStreams` (Node's default 100): streams refused with
 * REFUSED_STREAM, which only a client ignoring our concurrency setting causes, before the
 * session is closed with ENHANCE_YOUR_CALM. `maxSessionInvalidFrames` (default 1000): invalid
 * frames tolerated; an honest client sends none, so 100. Not set here because Node 20 does not
 * expose it: nghttp2's token bucket on received RST_STREAM (burst 1000, 33/s), which ends a
 * session with GOAWAY(INTERNAL_ERROR) only after about 1000 resets — hence the guard below.
 */
const MAX_SESSION_REJECTED_STREAMS = 100
const MAX_SESSION_INVALID_FRAMES = 100

/** The options of `http2.createSecureServer` that bound each session. */
export function http2SessionOptions(
  limits: Http2Limits,
): Pick<SecureServerOptions, "settings" | "maxSessionRejectedStreams" | "maxSessionInvalidFrames"> {
  return {
    settings: { maxConcurrentStreams: limits.maxConcurrentStreams },
    maxSessionRejectedStreams: MAX_SESSION_REJECTED_STREAMS,
    maxSessionInvalidFrames: MAX_SESSION_INVALID_FRAMES,
  }
}

/** What {@link guardHttp2Sessions} gives the shutdown. */
export interface Http2SessionGuard {
  /** GOAWAY to every session: no new stream, while the open ones (subscribers) get their last frames. */
  goAway(): void
  /** Resets every open stream and drops every session, so that none holds the shutdown open. */
  closeAll(): void
}

/**
 * Watches every HTTP/2 session of `server`:
 * - idle: a session with no open stream is closed (GOAWAY) after `keepAliveTimeoutMs`, or
 *   after `headersTimeoutMs` before its first request — the HTTP/1.1 keep-alive and headers
 *   timeouts. A session with a stream open (a subscriber) is never idle.
 * - rapid reset (CVE-2023-44487, and CVE-2025-8671 whose resets nghttp2 sends itself): a
 *   session with more than `maxStreamResetsPerSecond` streams reset by anything but Herald
 *   within one second is destroyed with ENHANCE_YOUR_CALM. Each reset stream still costs a
 *   request's work (authentication, admission), so the bound must sit far below nghttp2's.
 */
export function guardHttp2Sessions(
  server: Http2SecureServer,
  limits: Http2Limits,
  timeouts: HttpTimeouts,
  logger: Logger,
): Http2SessionGuard {
  const sessions = new Map<ServerHttp2Session, Set<ServerHttp2Stream>>()
  server.on("session", (session: ServerHttp2Session) => {
    const open = new Set<ServerHttp2Stream>()
    sessions.set(session, open)
    let idle: NodeJS.Timeout | undefined
    const armIdle = (ms: number) => {
      idle = setTimeout(() => session.close(), ms)
      idle.unref()
    }
    armIdle(timeouts.headersTimeoutMs)
    let windowStart = 0
    let resets = 0
    let condemned = false
    const countReset = () => {
      const now = Date.now()
      if (now - windowStart >= 1000) {
        windowStart = now
        resets = 0
      }
      resets++
      if (resets > limits.maxStreamResetsPerSecond && !condemned) {
        condemned = true
        logger.warn(
          { client: session.socket?.remoteAddress },
          `HTTP/2 connection closed: more than ${limits.maxStreamResetsPerSecond} streams reset within a second`,
        )
        // Not from inside this callback: it may run while nghttp2 is still handing out the
        // connection's buffered frames, and destroying the session there aborts Node 20 itself
        // ("Assertion failed: onread->IsFunction()", nodejs/node#64850).
        setImmediate(() => {
          if (!session.destroyed)
            session.destroy(new Error("too many stream resets"), constants.NGHTTP2_ENHANCE_YOUR_CALM)
        })
      }
    }
    session.on("stream", (stream: ServerHttp2Stream) => {
      clearTimeout(idle)
      open.add(stream)
      // Herald's own resets destroy the stream first; one arriving while it is alive came from
      // the peer (RST_STREAM) or from nghttp2 answering the peer's bad frame.
      stream.once("aborted", () => {
        if (!stream.destroyed) countReset()
      })
      stream.once("close", () => {
        open.delete(stream)
        if (open.size === 0 && !session.closed) armIdle(timeouts.keepAliveTimeoutMs)
      })
    })
    session.once("close", () => {
      clearTimeout(idle)
      sessions.delete(session)
    })
  })
  return {
    goAway() {
      for (const session of sessions.keys()) session.close()
    },
    closeAll() {
      // Past the deadline: a stream whose answer ended may still wait for the rest of a request
      // body that never comes, and a session closed gracefully would wait for it forever.
      for (const [session, open] of sessions) {
        for (const stream of open) stream.destroy()
        session.destroy()
      }
    },
  }
}
