import { createParser, ParseError, type ServerSentEvent } from "../protocol/index.js"
import { isEventStreamContentType } from "./content-type.js"
import { EventSourceError, EventSourceErrorEvent, EventSourceResponseError } from "./errors.js"
import { createEventQueue, type EventQueue } from "./event-queue.js"
import { createReconnectPolicy, type ReconnectPolicy } from "./reconnect-policy.js"
import { readRefusal, serverReason } from "./refusal.js"
import { buildRequestInit, isIdempotent } from "./request.js"
import { parseRetryAfter } from "./retry-after.js"
import { startTimer, timeoutOption, watchIdle } from "./timeouts.js"
import type { EventSourceInit, ReconnectOptions } from "./types.js"

const CONNECTING = 0
const OPEN = 1
const CLOSED = 2
type ReadyState = typeof CONNECTING | typeof OPEN | typeof CLOSED

const DEFAULT_MAX_QUEUED_EVENTS = 1000

/** How one connection attempt ended. */
type Outcome =
  /** "Fail the connection": CLOSED, `error`, never reconnect. */
  | { kind: "fail"; error: EventSourceError }
  /** "Reestablish the connection": a network error, or the clean end of a stream (no `error`). */
  | { kind: "reestablish"; error?: EventSourceError; retryAfter?: number }
  /** `close()` was called while the attempt ran. */
  | { kind: "closed" }

type Handler<E extends Event> = ((this: EventSource, event: E) => unknown) | null

/** The events an {@link EventSource} fires; any other type is a `MessageEvent` named by the stream's `event:` field. */
export interface EventSourceEventMap {
  open: Event
  message: MessageEvent<string>
  error: EventSourceErrorEvent
}

// Typed listener overloads, merged into the class's type only: at run time addEventListener stays
// EventTarget's own, as WebIDL has it.
export interface EventSource {
  addEventListener<K extends keyof EventSourceEventMap>(
    type: K,
    listener: (this: EventSource, event: EventSourceEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void
  addEventListener(
    type: string,
    listener: ((this: EventSource, event: MessageEvent<string>) => unknown) | EventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void
  removeEventListener<K extends keyof EventSourceEventMap>(
    type: K,
    listener: (this: EventSource, event: EventSourceEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void
  removeEventListener(
    type: string,
    listener: ((this: EventSource, event: MessageEvent<string>) => unknown) | EventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void
}

/**
 * The WHATWG `EventSource`, exactly — in Node 20, browsers and web workers alike — with opt-in
 * extensions in the init dictionary: headers, POST bodies, a reconnection policy, a response
 * hook, an `AbortSignal`, and async iteration.
 *
 * @example
 * ```ts
 * const source = new EventSource("https://example.com/stream")
 * source.onmessage = (event) => console.log(event.data)
 *
 * // or, with extensions, as an async iterable:
 * const chat = new EventSource("/chat", { method: "POST", body: JSON.stringify({ prompt }), reconnect: false })
 * for await (const event of chat) console.log(event.type, event.data)
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: see the interface above.
export class EventSource extends EventTarget {
  static readonly CONNECTING = CONNECTING
  static readonly OPEN = OPEN
  static readonly CLOSED = CLOSED
  declare readonly CONNECTING: typeof CONNECTING
  declare readonly OPEN: typeof OPEN
  declare readonly CLOSED: typeof CLOSED

  readonly #url: string
  readonly #init: EventSourceInit
  readonly #method: string
  readonly #reconnect: ReconnectOptions | undefined
  readonly #policy: ReconnectPolicy
  readonly #connectTimeout: number | undefined
  readonly #idleTimeout: number | undefined
  #readyState: ReadyState = CONNECTING
  #lastEventId: string
  #origin = ""
  #controller: AbortController | undefined
  #wake: (() => void) | undefined
  #failure: EventSourceError | undefined
  readonly #taps = new Set<EventQueue<MessageEvent<string>>>()
  readonly #handlers = new Map<
    string,
    { value: (event: Event) => unknown; listener: (event: Event) => void }
  >()
  readonly #onAbort = (): void => this.close()

  /**
   * @param url - Resolved against `location` where there is one (browsers, workers).
   * @param eventSourceInitDict - `withCredentials` (standard) and Herald's extensions, all off by default.
   * @throws DOMException `SyntaxError` when `url` cannot be parsed, as the standard requires.
   * @throws TypeError when a `body` is given with a GET or HEAD method, or when `connectTimeout`
   * or `idleTimeout` is not a positive number of milliseconds.
   */
  constructor(url: string | URL, eventSourceInitDict?: EventSourceInit | null) {
    super()
    const init = eventSourceInitDict ?? {}
    // "Let urlRecord be the result of encoding-parsing a URL given url, relative to settings.
    // If urlRecord is failure, then throw a "SyntaxError" DOMException."
    try {
      this.#url = new URL(String(url), baseUrl()).href
    } catch {
      throw new DOMException(
        `EventSource: cannot parse the URL ${JSON.stringify(String(url))}. ` +
          "Pass an absolute URL (there is no page location to resolve a relative one against here).",
        "SyntaxError",
      )
    }
    this.#init = init
    this.#method = (init.method ?? "GET").toUpperCase()
    if (init.body !== undefined && (this.#method === "GET" || this.#method === "HEAD")) {
      // fetch would reject it at every attempt, which would read as an endless network failure.
      throw new TypeError(`EventSource: a ${this.#method} request cannot have a body; set method: "POST".`)
    }
    this.#connectTimeout = timeoutOption("connectTimeout", init.connectTimeout)
    this.#idleTimeout = timeoutOption("idleTimeout", init.idleTimeout)
    this.#reconnect = init.reconnect === false ? undefined : (init.reconnect ?? {})
    this.#policy = createReconnectPolicy(this.#reconnect)
    this.#lastEventId = init.lastEventId ?? ""
    if (init.signal?.aborted) {
      this.#readyState = CLOSED
      return
    }
    init.signal?.addEventListener("abort", this.#onAbort, { once: true })
    void this.#run()
  }

  /** The absolute URL of the stream (the one given, never a redirect target). */
  get url(): string {
    return this.#url
  }

  /** Whether credentials are sent cross-origin (the init dictionary's `withCredentials`). */
  get withCredentials(): boolean {
    return Boolean(this.#init.withCredentials)
  }

  /** `CONNECTING` (0), `OPEN` (1) or `CLOSED` (2). */
  get readyState(): ReadyState {
    return this.#readyState
  }

  /** Called on `open`: the stream answered 200 `text/event-stream`. */
  get onopen(): Handler<Event> {
    return this.#getHandler("open")
  }
  set onopen(value: Handler<Event>) {
    this.#setHandler("open", value)
  }

  /** Called for events of type `message` only; other types need `addEventListener(type, …)`. */
  get onmessage(): Handler<MessageEvent<string>> {
    return this.#getHandler("message")
  }
  set onmessage(value: Handler<MessageEvent<string>>) {
    this.#setHandler("message", value)
  }

  /** Called on `error`: readyState CONNECTING means "reconnecting", CLOSED means "gave up". */
  get onerror(): Handler<EventSourceErrorEvent> {
    return this.#getHandler("error")
  }
  set onerror(value: Handler<EventSourceErrorEvent>) {
    this.#setHandler("error", value)
  }

  /** Aborts the connection and any pending reconnection. No event of any kind follows. */
  close(): void {
    this.#terminate(undefined, false)
  }

  /**
   * Iterates over every message event, whatever its type, across reconnections. The loop ends
   * when the source closes (`close()`, the signal, or a stream end with `reconnect: false`) and
   * throws the {@link EventSourceError} when it fails. Leaving the loop early closes the source.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<MessageEvent<string>> {
    const queue = createEventQueue<MessageEvent<string>>(
      this.#init.maxQueuedEvents ?? DEFAULT_MAX_QUEUED_EVENTS,
    )
    if (this.#readyState === CLOSED) queue.finish(this.#failure)
    else this.#taps.add(queue)
    const iterator: AsyncIterableIterator<MessageEvent<string>> = {
      next: () => queue.next(),
      return: async () => {
        this.#taps.delete(queue)
        queue.finish()
        this.close()
        return { done: true, value: undefined }
      },
      [Symbol.asyncIterator]: () => iterator,
    }
    return iterator
  }

  /** Connects, and reconnects after each drop, until the source closes or fails. */
  async #run(): Promise<void> {
    try {
      for (;;) {
        const outcome = await this.#connect()
        if (outcome.kind === "closed" || this.#isClosed()) return
        if (outcome.kind === "fail") return this.#terminate(outcome.error, true)
        const delay = this.#reconnectDelay(outcome)
        if (delay === undefined) return
        // "Queue a task to run the following steps: If the readyState attribute is set to CLOSED,
        // abort the task. Set the readyState attribute to CONNECTING. Fire an event named error."
        this.#readyState = CONNECTING
        this.dispatchEvent(new EventSourceErrorEvent(outcome.error))
        // "Wait a delay equal to the reconnection time of the event source." "If the EventSource
        // object's readyState attribute isn't set to CONNECTING, then return."
        if (this.#readyState !== CONNECTING) return
        await this.#sleep(delay)
        if (this.#readyState !== CONNECTING) return
      }
    } catch (cause) {
      // Not reachable by any input; a last guard so a bug surfaces as an error event, never as an unhandled rejection.
      this.#terminate(
        new EventSourceError("network", this.#url, `EventSource failed: ${describe(cause)}`, { cause }),
        true,
      )
    }
  }

  /** The wait before reconnecting, or `undefined` after closing the source because it must not reconnect. */
  #reconnectDelay(outcome: Extract<Outcome, { kind: "reestablish" }>): number | undefined {
    const { error } = outcome
    if (!this.#mayReconnect()) {
      this.#terminate(error, true)
      return undefined
    }
    const delay = this.#policy.nextDelay(outcome.retryAfter)
    if (delay === undefined) {
      const last = error?.message ?? "the stream ended."
      this.#terminate(
        new EventSourceError(
          "retries-exhausted",
          this.#url,
          `Gave up on ${this.#url} after ${this.#policy.attempts} reconnection attempts in a row ` +
            `(reconnect.maxAttempts). Last failure: ${last}`,
          { cause: error },
        ),
        true,
      )
    }
    return delay
  }

  /** Whether a drop may be followed by a reconnection at all (the attempt limit aside). */
  #mayReconnect(): boolean {
    if (this.#reconnect === undefined) return false
    return isIdempotent(this.#method) || Boolean(this.#reconnect.retryNonIdempotent)
  }

  /** Tells, in an error message, why a drop will not be followed by a reconnection. */
  #notRetriedHint(): string {
    if (this.#reconnect === undefined) return " Not reconnecting (reconnect: false)."
    if (this.#mayReconnect()) return ""
    return (
      ` Not retried: ${this.#method} is not idempotent. ` +
      "Set reconnect.retryNonIdempotent if the server can resume the stream from Last-Event-ID."
    )
  }

  /** One connection attempt, from request to the end of the response body. */
  async #connect(): Promise<Outcome> {
    const controller = new AbortController()
    this.#controller = controller
    let requestInit: RequestInit
    try {
      requestInit = await buildRequestInit(this.#init, this.#lastEventId, controller.signal)
    } catch (cause) {
      const message = `Could not build the request to ${this.#url}: ${describe(cause)} Check the headers and body options.`
      return { kind: "fail", error: new EventSourceError("invalid-request", this.#url, message, { cause }) }
    }

    let response: Response
    // Set when connectTimeout aborts the request, so the rejection reads as that, not as a drop.
    let timedOut: EventSourceError | undefined
    const connectTimeout = this.#connectTimeout
    const timer =
      connectTimeout === undefined
        ? undefined
        : startTimer(connectTimeout, () => {
            const message =
              `${this.#method} ${this.#url} sent no response headers within connectTimeout (${connectTimeout} ms). ` +
              "Raise connectTimeout if the server answers only once its first event is ready, as AI endpoints may." +
              this.#notRetriedHint()
            timedOut = new EventSourceError("timeout", this.#url, message)
            controller.abort(timedOut)
          })
    try {
      const fetchImpl = this.#init.fetch ?? globalThis.fetch
      response = await fetchImpl(this.#url, requestInit)
    } catch (cause) {
      if (this.#isClosed()) return { kind: "closed" }
      if (timedOut) return { kind: "reestablish", error: timedOut }
      // "If res is a network error, then reestablish the connection, unless the user agent knows
      // that to be futile, in which case the user agent may fail the connection." Only HTTP(S) can work.
      const futile = !/^https?:$/.test(new URL(this.#url).protocol)
      const hint = futile ? " Only http: and https: URLs can carry an event stream." : this.#notRetriedHint()
      const message = `Could not connect to ${this.#url}: ${describe(cause)}${hint}`
      const error = new EventSourceError("network", this.#url, message, { cause })
      return futile ? { kind: "fail", error } : { kind: "reestablish", error }
    } finally {
      clearTimeout(timer)
    }
    if (this.#isClosed()) {
      controller.abort()
      return { kind: "closed" }
    }

    const refused = await this.#check(response)
    if (refused) {
      controller.abort()
      return refused
    }
    if (this.#isClosed()) {
      controller.abort()
      return { kind: "closed" }
    }

    // "Announce the connection": "set the readyState attribute to OPEN" and "fire an event named open".
    // Events carry the origin of the final URL, after redirects.
    this.#readyState = OPEN
    this.#origin = new URL(response.url || this.#url).origin
    this.#policy.opened()
    this.dispatchEvent(new Event("open"))
    try {
      return await this.#read(response, controller)
    } finally {
      controller.abort()
    }
  }

  /**
   * "If res's status is not 200, or if res's `Content-Type` is not `text/event-stream`, then
   * fail the connection." Then the `onResponse` hook has its say. Returns why it was refused.
   */
  async #check(response: Response): Promise<Outcome | undefined> {
    const request = `${this.#method} ${this.#url}`
    if (response.status !== 200) {
      const retryable =
        this.#mayReconnect() &&
        (this.#reconnect?.retryOnStatus ?? false) &&
        isRetryableStatus(response.status)
      const body = await readRefusal(response)
      const reason = serverReason(body, response.headers.get("Content-Type"))
      const said = reason === undefined ? "" : ` The server said: ${reason}`
      const error = new EventSourceResponseError(
        "status",
        this.#url,
        response,
        statusMessage(request, response, retryable) + said,
        { body },
      )
      if (!retryable) return { kind: "fail", error }
      return { kind: "reestablish", error, retryAfter: parseRetryAfter(response.headers.get("Retry-After")) }
    }
    const contentType = response.headers.get("Content-Type")
    if (!isEventStreamContentType(contentType)) {
      const got = contentType === null ? "no Content-Type" : `Content-Type ${JSON.stringify(contentType)}`
      const message =
        `${request} answered 200 with ${got}, but an event stream must be text/event-stream. ` +
        "Check that the URL is the streaming endpoint and that the server sets the header. Not reconnecting."
      return {
        kind: "fail",
        error: new EventSourceResponseError("content-type", this.#url, response, message),
      }
    }
    if (!this.#init.onResponse) return undefined
    try {
      await this.#init.onResponse(response)
      return undefined
    } catch (cause) {
      const message = `The onResponse hook refused the response of ${request}: ${describe(cause)} Not reconnecting.`
      return {
        kind: "fail",
        error: new EventSourceResponseError("rejected", this.#url, response, message, { cause }),
      }
    }
  }

  /**
   * Reads the body through the protocol parser until it ends, drops, or the source closes — or,
   * with `idleTimeout`, until nothing has arrived for that long: `controller` then aborts it.
   */
  async #read(response: Response, controller: AbortController): Promise<Outcome> {
    if (!response.body) return { kind: "reestablish" }
    const parser = createParser(
      {
        onEvent: (event) => this.#dispatchMessage(event),
        onRetry: (ms) => this.#policy.setReconnectionTime(ms),
      },
      { lastEventId: this.#lastEventId, maxEventSize: this.#init.maxEventSize },
    )
    const reader = response.body.getReader()
    let idled: EventSourceError | undefined
    const idleTimeout = this.#idleTimeout
    const idle =
      idleTimeout === undefined
        ? undefined
        : watchIdle(idleTimeout, () => {
            const message =
              `Nothing arrived from ${this.#url} for idleTimeout (${idleTimeout} ms), not even a heartbeat, ` +
              "so the connection was taken as dead. If the server is just quiet, set idleTimeout to 2-3 times " +
              "its heartbeat interval." +
              this.#notRetriedHint()
            idled = new EventSourceError("timeout", this.#url, message)
            controller.abort(idled)
          })
    try {
      for (;;) {
        for (const tap of this.#taps) await tap.room()
        if (this.#isClosed()) return { kind: "closed" }
        idle?.waiting()
        const { done, value } = await reader.read()
        idle?.received()
        if (done) break
        parser.feed(value)
        if (this.#isClosed()) return { kind: "closed" }
      }
      // A clean end: the unterminated block is dropped, and the source reconnects.
      parser.end()
      return { kind: "reestablish" }
    } catch (cause) {
      if (this.#isClosed()) return { kind: "closed" }
      if (idled) return { kind: "reestablish", error: idled }
      if (cause instanceof ParseError) {
        return {
          kind: "fail",
          error: new EventSourceError("event-too-large", this.#url, cause.message, { cause }),
        }
      }
      const message = `The connection to ${this.#url} dropped: ${describe(cause)}${this.#notRetriedHint()}`
      return { kind: "reestablish", error: new EventSourceError("network", this.#url, message, { cause }) }
    } finally {
      idle?.stop()
      this.#lastEventId = parser.lastEventId
    }
  }

  #dispatchMessage(event: ServerSentEvent): void {
    // After close() (perhaps from a listener of an earlier event in the same chunk), nothing more is fired.
    if (this.#readyState !== OPEN) return
    const message = new MessageEvent(event.type, {
      data: event.data,
      origin: this.#origin,
      lastEventId: event.lastEventId,
    })
    this.dispatchEvent(message)
    for (const tap of this.#taps) tap.push(message)
  }

  /** Closes for good; with `fire`, an `error` event tells listeners (the standard's "fail the connection"). */
  #terminate(error: EventSourceError | undefined, fire: boolean): void {
    if (this.#readyState === CLOSED) return
    this.#readyState = CLOSED
    this.#failure = error
    this.#controller?.abort()
    this.#wake?.()
    this.#init.signal?.removeEventListener("abort", this.#onAbort)
    for (const tap of this.#taps) tap.finish(error)
    this.#taps.clear()
    if (fire) this.dispatchEvent(new EventSourceErrorEvent(error))
  }

  /** A method, not an inline comparison: listeners may close the source between two checks. */
  #isClosed(): boolean {
    return this.#readyState === CLOSED
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done(): void {
        clearTimeout(timer)
        resolve()
      }
      this.#wake = done
    })
  }

  #getHandler<E extends Event>(type: string): Handler<E> {
    return (this.#handlers.get(type)?.value as Handler<E> | undefined) ?? null
  }

  /**
   * Event handler IDL attributes: the listener is added when a handler is first set and keeps
   * its place among other listeners when the handler changes; setting null removes it.
   */
  #setHandler<E extends Event>(type: string, value: Handler<E>): void {
    const existing = this.#handlers.get(type)
    if (typeof value !== "function") {
      if (existing) this.removeEventListener(type, existing.listener)
      this.#handlers.delete(type)
      return
    }
    if (existing) {
      existing.value = value as (event: Event) => unknown
      return
    }
    const handler = {
      value: value as (event: Event) => unknown,
      listener: (event: Event) => {
        handler.value.call(this, event)
      },
    }
    this.#handlers.set(type, handler)
    this.addEventListener(type, handler.listener)
  }
}

// The constants live on the prototype too, as WebIDL puts them: `source.OPEN === 1`.
for (const [name, value] of Object.entries({ CONNECTING, OPEN, CLOSED })) {
  Object.defineProperty(EventSource.prototype, name, { value, enumerable: true })
}

/** Where relative URLs resolve: the page's or worker's location, when there is one. */
function baseUrl(): string | undefined {
  return (globalThis as { location?: { href?: string } }).location?.href
}

function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599)
}

function statusMessage(request: string, response: Response, retrying: boolean): string {
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`
  if (retrying) return `${request} answered ${status}; retrying (reconnect.retryOnStatus).`
  if (response.status === 204) {
    return `${request} answered 204 No Content: the server asks the client to stop. Not reconnecting.`
  }
  if (response.status === 401 || response.status === 403) {
    return (
      `${request} answered ${status}. Check the credentials sent (the headers option, or cookies with ` +
      "withCredentials) and that they allow this stream. Not reconnecting."
    )
  }
  const hint = isRetryableStatus(response.status)
    ? " Set reconnect.retryOnStatus to retry 5xx and 429 answers."
    : " Check the URL and the server's route."
  return `${request} answered ${status}, but an event stream must answer 200.${hint} Not reconnecting.`
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const detail = cause.cause instanceof Error ? ` (${cause.cause.message})` : ""
    const text = `${cause.message}${detail}`
    return /[.!?)]$/.test(text) ? text : `${text}.`
  }
  return `${String(cause)}.`
}
