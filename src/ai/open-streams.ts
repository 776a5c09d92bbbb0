/**
 * The generation streams open on this node, each with what ends it early: at shutdown, those
 * still open (their generation's end not reached, or not stored) are told in their format's
 * error event before their connection closes, where a bare end would look like a whole answer
 * to a client that cannot resume.
 */
export class OpenStreams {
  readonly #interrupts = new Set<() => void>()

  /** Registers a stream's interruption; returns what unregisters it (its connection closed). */
  add(interrupt: () => void): () => void {
    this.#interrupts.add(interrupt)
    return () => {
      this.#interrupts.delete(interrupt)
    }
  }

  /** Interrupts every stream still open. */
  interruptAll(): void {
    for (const interrupt of [...this.#interrupts]) interrupt()
    this.#interrupts.clear()
  }
}
