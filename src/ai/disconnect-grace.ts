/**
 * Disconnect is not cancel: a generation runs on while nobody watches it for `graceMs`
 * (a reload, a dropped network), and is stopped only when nobody came back by then. `0` stops it
 * as soon as the last viewer leaves, `Infinity` never does.
 *
 * Viewers are counted on the node running the generation. A viewer on another node cannot be
 * counted (its departure is not seen here), so once one shows up ({@link remoteViewer}) the
 * generation is never stopped for a disconnect: it runs to its end, the safe side.
 */
export class DisconnectGrace {
  readonly #graceMs: number
  readonly #onExpired: () => void
  #viewers = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  #disabled = false

  constructor(graceMs: number, onExpired: () => void) {
    this.#graceMs = graceMs
    this.#onExpired = onExpired
  }

  /** A viewer on this node; call the returned function when it leaves (once). */
  attach(): () => void {
    this.#viewers++
    clearTimeout(this.#timer)
    this.#timer = undefined
    let left = false
    return () => {
      if (left) return
      left = true
      this.#viewers--
      if (this.#viewers === 0) this.#arm()
    }
  }

  /** A viewer showed up on another node. */
  remoteViewer(): void {
    this.dispose()
  }

  /** The generation ended (or must never be stopped for a disconnect): nothing more to time. */
  dispose(): void {
    this.#disabled = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #arm(): void {
    if (this.#disabled || this.#graceMs === Number.POSITIVE_INFINITY) return
    if (this.#graceMs <= 0) {
      this.#onExpired()
      return
    }
    // setTimeout caps delays at 2^31 - 1 ms (~24.8 days).
    this.#timer = setTimeout(this.#onExpired, Math.min(this.#graceMs, 2_147_483_647))
    this.#timer.unref()
  }
}
