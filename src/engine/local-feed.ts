import type { Entry, FeedSink } from "./engine.js"

/** What the feed hands on, queued while a sink's own reaction is being delivered. */
type Delivery =
  | { readonly log: string; readonly entries: readonly Entry[]; readonly closed: boolean }
  | { readonly log: string | undefined; readonly lost: true }

/**
 * One node's fan-out of live appends: log name → the sinks watching it (`Engine.watch`). An
 * engine calls {@link LocalFeed.deliver} once per stored batch (the memory and sqlite engines
 * from `append`, the redis engine from its notifications); every sink of that log receives it
 * synchronously, in registration order.
 *
 * A sink that throws is a bug in its owner: it must not keep the other sinks from the batch, nor
 * fail an append that is already stored, so its error goes to `onError`.
 */
export class LocalFeed {
  readonly #sinks = new Map<string, Set<FeedSink>>()
  readonly #onError: (error: unknown) => void
  /** Deliveries waiting for the one in progress to reach every sink. */
  readonly #queue: Delivery[] = []
  #delivering = false

  /** `onError` receives what a sink threw. */
  constructor(onError: (error: unknown) => void) {
    this.#onError = onError
  }

  /** Adds a sink of `log`; returns the function that removes it (idempotent). */
  add(log: string, sink: FeedSink): () => void {
    // A wrapper makes each registration distinct, so one sink watching twice stays twice.
    const registration: FeedSink = {
      onAppend: (entries, closed) => sink.onAppend(entries, closed),
      onLost: () => sink.onLost(),
    }
    let sinks = this.#sinks.get(log)
    if (sinks === undefined) {
      sinks = new Set()
      this.#sinks.set(log, sinks)
    }
    sinks.add(registration)
    return () => {
      const current = this.#sinks.get(log)
      if (current?.delete(registration) && current.size === 0) this.#sinks.delete(log)
    }
  }

  /** Whether any sink watches `log` (an engine subscribes to remote notifications only then). */
  watched(log: string): boolean {
    return this.#sinks.has(log)
  }

  /**
   * Hands a stored batch of `log` to its sinks (`closed`: that append closed the log). A batch
   * appended by a sink while it runs (a hub publishing in reaction to a delivery) is queued and
   * handed on once the current one has reached every sink: otherwise the sinks after it would
   * see the newer batch first, out of order.
   */
  deliver(log: string, entries: readonly Entry[], closed: boolean): void {
    if (entries.length === 0 && !closed) return
    this.#enqueue({ log, entries, closed })
  }

  /** Tells the sinks of `log` that the feed may have missed appends (`onLost`). */
  lost(log: string): void {
    this.#enqueue({ log, lost: true })
  }

  /** Tells every sink that the feed may have missed appends (a reconnect). */
  lostAll(): void {
    this.#enqueue({ log: undefined, lost: true })
  }

  /** Removes every sink and drops what is queued. */
  clear(): void {
    this.#sinks.clear()
    this.#queue.length = 0
  }

  #enqueue(delivery: Delivery): void {
    this.#queue.push(delivery)
    if (this.#delivering) return
    this.#delivering = true
    try {
      for (let next = this.#queue.shift(); next !== undefined; next = this.#queue.shift()) {
        if ("lost" in next) this.#lost(next.log)
        else this.#deliverNow(next.log, next.entries, next.closed)
      }
    } finally {
      this.#delivering = false
    }
  }

  #deliverNow(log: string, entries: readonly Entry[], closed: boolean): void {
    const sinks = this.#sinks.get(log)
    if (sinks === undefined) return
    // A snapshot: a sink added meanwhile starts with the next batch (it registered after this
    // one was stored); one removed meanwhile is skipped.
    for (const sink of [...sinks]) {
      if (!sinks.has(sink)) continue
      try {
        sink.onAppend(entries, closed)
      } catch (error) {
        this.#onError(error)
      }
    }
  }

  #lost(log: string | undefined): void {
    const all = log === undefined ? [...this.#sinks.values()] : [this.#sinks.get(log) ?? new Set()]
    for (const sinks of all) {
      for (const sink of [...sinks]) {
        if (!sinks.has(sink)) continue
        try {
          sink.onLost()
        } catch (error) {
          this.#onError(error)
        }
      }
    }
  }
}
