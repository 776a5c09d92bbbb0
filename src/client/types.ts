/** A request body that can be sent again on every reconnection (a one-shot `ReadableStream` cannot). */
export type ReusableBody = string | Blob | ArrayBuffer | ArrayBufferView | FormData | URLSearchParams

/** A `fetch`-compatible function: the global one, undici's, a test double, a wrapper adding tracing. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>

/** How and when the source reconnects. Every field is optional; the defaults are the standard's behaviour. */
export interface ReconnectOptions {
  /**
   * The initial reconnection time in milliseconds, until the server sends `retry:`.
   * Default 3000 (what Chromium uses; the spec leaves it to the user agent). Any wait, this one,
   * a server's `retry:` or a grown backoff, is capped at 2^31 - 1 ms (about 24.8 days), the
   * longest a timer can wait.
   */
  delay?: number
  /**
   * Multiply the wait by this after each failed attempt in a row (exponential backoff).
   * Default 1: a constant wait, as the standard describes. The wait never drops below the
   * reconnection time, and goes back to it once a connection opens; from a reconnection time of
   * 0 (a server's `retry: 0`), it grows from 1 ms.
   */
  backoff?: number
  /** The most the backoff may grow the wait to, in milliseconds. Default 30000. */
  maxDelay?: number
  /**
   * Add a random extra wait of up to this fraction of the wait (0 to 1), so that many clients
   * dropped at once do not all come back at once. Default 0.
   */
  jitter?: number
  /**
   * Give up (readyState CLOSED, `error` with code `"retries-exhausted"`) after this many failed
   * attempts in a row. Default `Infinity`, as the standard.
   */
  maxAttempts?: number
  /**
   * Retry instead of failing when the response is a 5xx or 429, waiting at least what its
   * `Retry-After` says. Default false: the standard fails on any non-200.
   */
  retryOnStatus?: boolean
  /** The most a `Retry-After` header may make the source wait, in milliseconds. Default 300000 (5 min). */
  maxRetryAfter?: number
  /**
   * Reconnect even when `method` is not idempotent (POST, PATCH). Default false: a dropped
   * POST is not sent again by surprise. Turn it on when the server resumes from `Last-Event-ID`.
   */
  retryNonIdempotent?: boolean
}

/**
 * The init dictionary: the standard's `withCredentials`, plus Herald's extensions. Every
 * extension is off by default, so `new EventSource(url)` behaves exactly as the standard says.
 */
export interface EventSourceInit {
  /** Standard: send credentials (cookies, HTTP auth) cross-origin too (`credentials: "include"`). */
  withCredentials?: boolean
  /** The `fetch` to use. Default `globalThis.fetch`, looked up at each connection. */
  fetch?: FetchLike
  /**
   * Extra request headers, or a function returning them, called before every (re)connection —
   * so an expiring token can be refreshed. It may be async.
   */
  headers?: HeadersInit | (() => HeadersInit | Promise<HeadersInit>)
  /** The HTTP method. Default `"GET"`. */
  method?: string
  /** The request body (with `method: "POST"`), or a function returning it, called before every (re)connection. */
  body?: ReusableBody | (() => ReusableBody | Promise<ReusableBody>)
  /** Start from this last event ID: it is sent as `Last-Event-ID` from the first request on. */
  lastEventId?: string
  /** Closing signal: aborting it is `close()`. */
  signal?: AbortSignal
  /** Reconnection policy. `false` never reconnects: the source closes when the stream ends. */
  reconnect?: ReconnectOptions | false
  /**
   * Inspect each 200 `text/event-stream` response before `open`. Throw (or reject) to fail the
   * connection with that reason: the source closes and does not reconnect.
   */
  onResponse?: (response: Response) => void | Promise<void>
  /**
   * Milliseconds to wait for the response headers after each request is sent. When they have
   * not arrived by then, the attempt is aborted and handled like a network error: the source
   * reconnects under its policy (or closes, when the request may not be repeated), and the `error`
   * event carries an `EventSourceError` with code `"timeout"`. Default: none (only the
   * platform's limit, if any). Leave it off, or set it generously, for endpoints that send their
   * headers only when the first event is ready, as AI endpoints may.
   */
  connectTimeout?: number
  /**
   * Milliseconds an open stream may stay silent: when no byte at all arrives for this long
   * (no event, no heartbeat comment), the connection is taken as dead (a half-open TCP connection
   * after a NAT timeout, sleep or network switch) and the source reconnects with `Last-Event-ID`,
   * as after a drop; the `error` event carries code `"timeout"`. Default: none. Set it to 2–3 times
   * the server's heartbeat interval: 45000 for Herald's server default of 15 s.
   */
  idleTimeout?: number
  /** The largest event, in UTF-16 code units, before the connection fails. Default 32 MiB (the parser's). */
  maxEventSize?: number
  /**
   * How many events async iteration buffers before it stops reading the network, until the
   * loop catches up. Default 1000.
   */
  maxQueuedEvents?: number
}
