/**
 * The generation streams open on this node, each with what ends it early: at shutdown, those
 * still open once their followers had a moment to deliver what was stored (their generation's
 * end not reached, or not stored) are told in their format's error event before their
 * connection closes, where a bare end would look like a whole answer to a client that cannot
 * resume.
 */
export class OpenStreams {
  readonly #interrupts = new Set<() => void>()
  #closing = false
  /** Woken when the last stream leaves. */
  #emptied: (() => void) | undefined

  /** Registers a stream's interruption; returns what unregisters it (its connection closed). */
  add(interrupt: () => void): () => void {
    if (this.#closing) {
      // Opened during the shutdown: there is no moment left to wait for.
      queueMicrotask(interrupt)
      return () => {}
    }
    this.#interrupts.add(interrupt)
    return () => {
      this.#interrupts.delete(interrupt)
      if (this.#interrupts.size === 0) this.#emptied?.()
    }
  }

  /** Waits up to `graceMs` for the open streams to end by themselves, then interrupts the rest. */
  async interruptAll(graceMs: number): Promise<void> {
    this.#closing = true
    if (this.#interrupts.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined
      await new Promise<void>((resolve) => {
        this.#emptied = resolve
        timer = setTimeout(resolve, graceMs)
      })
      clearTimeout(timer)
    }
    for (const interrupt of [...this.#interrupts]) interrupt()
    this.#interrupts.clear()
  }
}
