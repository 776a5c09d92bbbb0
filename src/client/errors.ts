/** Why an {@link EventSourceError} was raised. */
export type EventSourceErrorCode =
  /** The response status was not 200 (and not retried). */
  | "status"
  /** The response was 200 but not `text/event-stream`. */
  | "content-type"
  /** The `onResponse` hook refused the response. */
  | "rejected"
  /** The connection dropped or could not be made, and it will not be retried. */
  | "network"
  /** `reconnect.maxAttempts` reconnection attempts failed in a row. */
  | "retries-exhausted"
  /** One event was larger than `maxEventSize`. */
  | "event-too-large"
  /** The request could not be built: the `headers` or `body` option threw or gave an invalid value. */
  | "invalid-request"
  /** `connectTimeout` or `idleTimeout` ran out; the message names which, and its value. */
  | "timeout"

/** Why an EventSource stopped for good (or why it is reconnecting); carried by {@link EventSourceErrorEvent}. */
export class EventSourceError extends Error {
  override name = "EventSourceError"
  /** What went wrong, as a stable code to switch on. */
  readonly code: EventSourceErrorCode
  /** The URL the request was sent to. */
  readonly url: string

  constructor(code: EventSourceErrorCode, url: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.url = url
  }
}

/** An {@link EventSourceError} caused by the server's response: carries its status and headers. */
export class EventSourceResponseError extends EventSourceError {
  override name = "EventSourceResponseError"
  /** The HTTP status of the response. */
  readonly status: number
  /** The status text of the response (often empty over HTTP/2). */
  readonly statusText: string
  /** The response headers (e.g. `Retry-After`, `WWW-Authenticate`, `Content-Type`). */
  readonly headers: Headers
  /**
   * For a non-200 status (`code` `"status"`, or a retried status): the start of the response body
   * (at most 4 KiB, what arrived within 1 s), where servers explain a refusal. `""` otherwise.
   */
  readonly body: string

  constructor(
    code: EventSourceErrorCode,
    url: string,
    response: Response,
    message: string,
    options?: { cause?: unknown; body?: string },
  ) {
    super(code, url, message, options)
    this.status = response.status
    this.statusText = response.statusText
    this.headers = response.headers
    this.body = options?.body ?? ""
  }
}

/**
 * The `error` event an EventSource fires. It is a plain `Event` as the standard requires, with one
 * extra property: {@link EventSourceErrorEvent.error}, the reason.
 */
export class EventSourceErrorEvent extends Event {
  /**
   * Why the connection failed or dropped. `undefined` when the stream simply ended (a clean end
   * of a 200 response) — the source then reconnects, or, when reconnecting is not allowed, closes.
   */
  readonly error: EventSourceError | undefined

  constructor(error: EventSourceError | undefined) {
    super("error")
    this.error = error
  }
}
