import type { Engine } from "../engine/engine.js"
import { StoreOutage } from "./store-outage.js"

/** Why an open stream is ended before its generation's end: this node shuts down, or its store is out of reach. */
export type StreamInterruption = "shutdown" | "store-failed"

/**
 * The generation streams open on this node, each with what ends it early: at shutdown, those
 * still open once their followers had a moment to deliver what was stored (their generation's
 * end not reached, or not stored) are told in their format's error event before their
 * connection closes, where a bare end would look like a whole answer to a client that cannot
 * resume. While any is open, the store is watched (see {@link StoreOutage}): once it has not
 * answered for its bound, every one is told so, and its client resumes later.
 */
export class OpenStreams {
  readonly #interrupts = new Set<(why: StreamInterruption) => void>()
  readonly #outage: StoreOutage | undefined
  #closing = false
  /** Woken when the last stream leaves. */
  #emptied: (() => void) | undefined

  /** `store`: the engine to watch while streams are open, and how long it may not answer, in ms. */
  constructor(store?: { readonly engine: Engine; readonly boundMs: number }) {
    this.#outage = store && new StoreOutage(store.engine, store.boundMs, () => this.#storeFailed())
  }

  /** Registers a stream's interruption; returns what unregisters it (its connection closed). */
  add(interrupt: (why: StreamInterruption) => void): () => void {
    if (this.#closing) {
      // Opened during the shutdown: there is no moment left to wait for.
      queueMicrotask(() => interrupt("shutdown"))
      return () => {}
    }
    this.#interrupts.add(interrupt)
    this.#outage?.start()
    return () => {
      this.#interrupts.delete(interrupt)
      if (this.#interrupts.size > 0) return
      this.#outage?.stop()
      this.#emptied?.()
    }
  }

  /** Interrupts every open stream: the store has not answered for its bound. */
  #storeFailed(): void {
    for (const interrupt of [...this.#interrupts]) interrupt("store-failed")
  }

  /** Waits up to `graceMs` for the open streams to end by themselves, then interrupts the rest. */
  async interruptAll(graceMs: number): Promise<void> {
    this.#closing = true
    this.#outage?.stop()
    if (this.#interrupts.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined
      await new Promise<void>((resolve) => {
        this.#emptied = resolve
        timer = setTimeout(resolve, graceMs)
      })
      clearTimeout(timer)
    }
    for (const interrupt of [...this.#interrupts]) interrupt("shutdown")
    this.#interrupts.clear()
  }
}
