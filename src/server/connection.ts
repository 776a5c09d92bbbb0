import { defaultLogger, type Logger } from "../logger.js"
import { type EventFields, encode } from "../protocol/index.js"
import { type EventStreamSource, pipeSource } from "./pipe.js"
import { createFrameQueue, type Frame, type FrameQueue, type FrameQueueLimits } from "./queue.js"

/**
 * The transport under one connection: a Node response, a Web stream controller, or anything
 * else that takes bytes. Adapters implement it; applications never need to.
 */
export interface ConnectionSink {
  /** Hands a frame to the transport. `false` means its buffer is full: wait for the drain listener. */
  write(frame: Frame): boolean
  /** Calls `listener` once, the next time the transport can take more. */
  onceDrain(listener: () => void): void
  /** Ends the stream once what was written is sent. */
  end(): void
  /** Aborts the stream now; unsent bytes are dropped. */
  destroy(): void
}

/** Why a connection closed. */
export type CloseReason =
  /** The client went away (or the transport failed). */
  | "client-gone"
  /** The server called `close()` (or `destroy()`). */
  | "closed"
  /** The client read too slowly and its queue filled under the `"disconnect"` policy. */
  | "overflow"
  /** A graceful shutdown ended it. */
  | "shutdown"

/** A connection's bounds: its queue's, and how long its end may take to flush. */
export interface ConnectionLimits extends FrameQueueLimits {
  /**
   * How long the frames of a connection ended with `close()` may take to reach its client before
   * it is cut, ms. Default {@link DEFAULT_CLOSE_FLUSH_MS}.
   */
  readonly closeFlushMs?: number
}

/** How long a closed stream may take to flush to its client before it is cut, when not given. */
export const DEFAULT_CLOSE_FLUSH_MS = 10_000

/** Per-connection settings an adapter passes in. */
export interface ConnectionSettings {
  /** The client's resume cursor (`Last-Event-ID`), `""` for a fresh subscription. */
  lastEventId: string
  /** Queue bounds; one object shared by every connection of an `SSE` (kept by reference, not copied). */
  limits: ConnectionLimits
  /** Receives what a close listener throws. Default: {@link defaultLogger}. */
  logger?: Logger | undefined
}

/** Called once when a connection closes. One function can serve every connection: it gets the connection. */
export type CloseListener = (reason: CloseReason, connection: SSEConnection) => void

/**
 * One open `text/event-stream` response.
 *
 * Writes go straight to the transport while it keeps up. When it reports backpressure, frames
 * wait in a bounded queue (allocated only then, released once drained); when that fills, the
 * overflow policy decides — disconnect by default, so a stalled reader can never grow the
 * server's memory without bound. Every wait for `drain` is raced with the connection closing.
 *
 * A class rather than a closure factory on purpose: a hub holds tens of thousands of these, and
 * shared prototype methods keep an idle connection to a handful of fields.
 */
export class SSEConnection {
  /** The client's resume cursor: the `Last-Event-ID` header or its query fallback; `""` if none. */
  readonly lastEventId: string
  /** Why the connection closed; `undefined` while it is open. */
  closeReason: CloseReason | undefined = undefined

  readonly #sink: ConnectionSink
  readonly #limits: ConnectionLimits
  readonly #logger: Logger | undefined
  /** Non-null exactly while the transport is applying backpressure. */
  #queue: FrameQueue | null = null
  /** One listener held directly, several in an array: most connections have one or two. */
  #closeListeners: CloseListener | CloseListener[] | null = null
  #writableWaiters: Array<() => void> | null = null
  #abort: AbortController | null = null
  #transportGone = false
  #transportWaiters: Array<() => void> | null = null

  constructor(sink: ConnectionSink, settings: ConnectionSettings) {
    this.#sink = sink
    this.#limits = settings.limits
    this.#logger = settings.logger
    this.lastEventId = settings.lastEventId
  }

  /** `true` once the connection closed; writes are then ignored. */
  get closed(): boolean {
    return this.closeReason !== undefined
  }

  /** `true` while frames wait for the client to read (the transport reported backpressure). */
  get backpressured(): boolean {
    return this.#queue !== null
  }

  /** Bytes (approximately) waiting in this connection's queue. */
  get queuedBytes(): number {
    return this.#queue?.bytes ?? 0
  }

  /**
   * Aborted when the connection closes. Pass it to whatever produces events for this client
   * (`fetch(upstream, { signal })`) so their work stops when the client leaves.
   */
  get signal(): AbortSignal {
    if (this.#abort === null) {
      this.#abort = new AbortController()
      if (this.closed) this.#abort.abort(this.#closeError())
    }
    return this.#abort.signal
  }

  /**
   * Sends one event. Throws a `TypeError` for an `event`/`id` with CR, LF or NUL (see `encode`).
   *
   * @returns `true` if the transport took it at once; `false` if it was queued behind a slow
   *   reader, or dropped because the connection is closed. Producers that can wait should then
   *   `await whenWritable()`.
   */
  send(fields: EventFields): boolean {
    return this.writeFrame(encode(fields))
  }

  /** Sends a comment line (ignored by clients; handy for debugging or keep-alive). */
  comment(text: string): boolean {
    return this.writeFrame(encode({ comment: text }))
  }

  /**
   * Writes an already-serialized frame (from `encode`). Channels use it to write the same bytes
   * to every subscriber. Same return value as {@link send}. A `Uint8Array` frame is kept by
   * reference until sent (queued for a slow reader, as a socket write keeps its buffer): do not
   * change its bytes in the same turn of the event loop, or while this returns `false`.
   */
  writeFrame(frame: Frame): boolean {
    if (this.closeReason !== undefined) return false
    const queue = this.#queue
    if (queue !== null) {
      if (!queue.push(frame)) this.#finish("overflow", true)
      return false
    }
    if (this.#sink.write(frame)) return true
    this.#startQueueing()
    return false
  }

  /**
   * Writes frames owned elsewhere — a channel history's, shared by every client that replays
   * them. If they must wait for a slow reader, they do not count against `maxQueuedBytes`
   * (queueing a reference costs nothing), so a replay longer than the bound still gets through
   * instead of disconnecting the client on every reconnect.
   */
  replay(frames: readonly Frame[]): void {
    for (const frame of frames) {
      if (this.closeReason !== undefined) return
      const queue = this.#queue
      if (queue !== null) queue.pushShared(frame)
      else if (!this.#sink.write(frame)) this.#startQueueing()
    }
  }

  /** Resolves when the transport can take more without queueing, or when the connection closes. */
  whenWritable(): Promise<void> {
    if (this.#queue === null || this.closed) return Promise.resolve()
    return new Promise((resolve) => {
      if (this.#writableWaiters === null) this.#writableWaiters = []
      this.#writableWaiters.push(resolve)
    })
  }

  /**
   * Streams events from an async iterable or a `ReadableStream` (an LLM stream, a database
   * cursor), waiting for the client whenever it falls behind. Strings are sent as `data`.
   *
   * If the client leaves, the promise resolves at once and the source is cancelled
   * (`reader.cancel()` / `iterator.return()`). An async generator takes the cancel only once the
   * step it is waiting on settles: pass {@link signal} to what it waits on (`fetch`, a database
   * call) so that it stops too. The promise rejects if the source throws; the connection stays
   * open, so the caller can send an error event. It does not close the connection when the
   * source ends.
   */
  pipe(source: EventStreamSource): Promise<void> {
    return pipeSource(this, source)
  }

  /**
   * Calls `listener` once when the connection closes, with the reason and the connection. If it
   * is already closed, calls it on the next microtask. Remove it with {@link offClose}.
   */
  onClose(listener: CloseListener): void {
    const reason = this.closeReason
    if (reason !== undefined) {
      queueMicrotask(() => listener(reason, this))
      return
    }
    const listeners = this.#closeListeners
    if (listeners === null) this.#closeListeners = listener
    else if (Array.isArray(listeners)) listeners.push(listener)
    else this.#closeListeners = [listeners, listener]
  }

  /** Removes one registration of `listener` added with {@link onClose}. */
  offClose(listener: CloseListener): void {
    const listeners = this.#closeListeners
    if (listeners === listener) this.#closeListeners = null
    else if (Array.isArray(listeners)) {
      const index = listeners.indexOf(listener)
      if (index !== -1) listeners.splice(index, 1)
    }
  }

  /** Ends the stream gracefully: frames already queued are still sent, then the response ends. */
  close(reason: CloseReason = "closed"): void {
    if (this.closeReason !== undefined) return
    const queue = this.#queue
    // The queue is bounded, so handing it all over now is bounded too; the transport then ends.
    if (queue !== null)
      for (let frame = queue.shift(); frame !== undefined; frame = queue.shift()) this.#sink.write(frame)
    this.#finish(reason, false)
    if (this.#transportGone) return
    // A client that stopped reading never takes the end: cut it after the flush bound.
    const cut = setTimeout(
      () => this.#markTransportGone(true),
      this.#limits.closeFlushMs ?? DEFAULT_CLOSE_FLUSH_MS,
    )
    cut.unref()
    this.#transportWaiters ??= []
    this.#transportWaiters.push(() => clearTimeout(cut))
  }

  /**
   * Aborts the stream now, dropping anything unsent. Adapters call it when the client goes away;
   * applications may call it to cut a client off.
   */
  destroy(reason: CloseReason = "closed"): void {
    if (this.closeReason === undefined) this.#finish(reason, true)
    // Already ended gracefully: the transport may still be flushing; cut it unless it is already gone.
    else this.#markTransportGone(reason !== "client-gone")
  }

  /** Resolves once the transport itself has closed (after `close()` has flushed, or the client left). */
  whenTransportClosed(): Promise<void> {
    if (this.#transportGone) return Promise.resolve()
    return new Promise((resolve) => {
      if (this.#transportWaiters === null) this.#transportWaiters = []
      this.#transportWaiters.push(resolve)
    })
  }

  #startQueueing(): void {
    this.#queue = createFrameQueue(this.#limits)
    this.#sink.onceDrain(() => this.#flush())
  }

  #flush(): void {
    const queue = this.#queue
    if (queue === null || this.closed) return
    for (let frame = queue.shift(); frame !== undefined; frame = queue.shift()) {
      if (!this.#sink.write(frame)) {
        this.#sink.onceDrain(() => this.#flush())
        return
      }
    }
    this.#queue = null
    this.#wakeWriters()
  }

  #wakeWriters(): void {
    const waiters = this.#writableWaiters
    this.#writableWaiters = null
    if (waiters !== null) for (const wake of waiters) wake()
  }

  #finish(reason: CloseReason, abortTransport: boolean): void {
    this.closeReason = reason
    this.#queue = null
    if (abortTransport) this.#markTransportGone(true)
    else this.#sink.end()
    this.#wakeWriters()
    this.#abort?.abort(this.#closeError())
    const listeners = this.#closeListeners
    this.#closeListeners = null
    if (listeners === null) return
    for (const listener of Array.isArray(listeners) ? listeners : [listeners]) {
      try {
        listener(reason, this)
      } catch (error) {
        // One faulty listener must not keep the others (or the connection cleanup) from running.
        ;(this.#logger ?? defaultLogger()).error(
          { err: error },
          "herald/server: a connection close listener threw; the others still ran",
        )
      }
    }
  }

  #markTransportGone(destroySink: boolean): void {
    if (destroySink) this.#sink.destroy()
    if (this.#transportGone) return
    this.#transportGone = true
    const waiters = this.#transportWaiters
    this.#transportWaiters = null
    if (waiters !== null) for (const wake of waiters) wake()
  }

  #closeError(): Error {
    return new Error(`SSE connection closed (${this.closeReason ?? "open"})`)
  }
}
