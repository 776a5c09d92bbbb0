import type { StoredUpdate } from "./engine.js"

/** A live-feed listener, as given to `Engine.listen`. */
export type Listener = (updates: readonly StoredUpdate[]) => void

/**
 * The listeners of one engine, called synchronously and in registration order. A listener that
 * throws is a bug in its owner; it must not keep the others from the update, nor fail an append
 * that is already stored, so its error goes to `onError`.
 */
export class Listeners {
  readonly #listeners = new Set<Listener>()
  readonly #onError: (error: unknown) => void
  /** Batches waiting for the batch being delivered to reach every listener. */
  readonly #queue: (readonly StoredUpdate[])[] = []
  #notifying = false

  /** `onError` receives what a listener threw. */
  constructor(onError: (error: unknown) => void) {
    this.#onError = onError
  }

  /** Adds a listener; returns the function that removes it (idempotent). */
  add(listener: Listener): () => void {
    // A wrapper makes each registration distinct, so one function listening twice stays twice.
    const entry: Listener = (updates) => listener(updates)
    this.#listeners.add(entry)
    return () => {
      this.#listeners.delete(entry)
    }
  }

  /**
   * Hands `updates` to every listener registered now. An append made by a listener while it
   * runs (a hub publishing in reaction to a delivery) is queued and handed on once the current
   * batch has reached every listener: otherwise the listeners after it would see the new batch
   * before the one still being delivered, out of order.
   */
  notify(updates: readonly StoredUpdate[]): void {
    if (updates.length === 0) return
    this.#queue.push(updates)
    if (this.#notifying) return
    this.#notifying = true
    try {
      for (let batch = this.#queue.shift(); batch !== undefined; batch = this.#queue.shift()) {
        this.#notifyNow(batch)
      }
    } finally {
      this.#notifying = false
    }
  }

  #notifyNow(updates: readonly StoredUpdate[]): void {
    // A snapshot: a listener added meanwhile starts with the next append (it registered after
    // this batch was stored); one removed meanwhile is skipped.
    for (const listener of [...this.#listeners]) {
      if (!this.#listeners.has(listener)) continue
      try {
        listener(updates)
      } catch (error) {
        this.#onError(error)
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.#listeners.clear()
    this.#queue.length = 0
  }
}
