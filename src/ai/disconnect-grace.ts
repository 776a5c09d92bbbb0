/**
 * Disconnect is not cancel: a generation runs on while nobody watches it for `graceMs`
 * (a reload, a dropped network), and is stopped only when nobody came back by then. `0` stops it
 * as soon as the last viewer leaves, `Infinity` never does.
 *
 * Viewers are counted on the node running the generation. A viewer on another node cannot be
 * counted (its departure is not seen here), so once one shows up ({@link remoteViewer}, or the
 * mark it leaves, remote-viewer-mark.ts, found when the grace is over) the generation is never
 * stopped for a disconnect: it runs to its end, the safe side.
 */
export class DisconnectGrace {
  readonly #graceMs: number
  readonly #onExpired: () => void
  readonly #watchedElsewhere: () => Promise<boolean>
  #viewers = 0
  /** Counts the arrivals: a grace over whose check one came during is not over. */
  #arrivals = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  #disabled = false

  /**
   * `onExpired` stops the generation; `watchedElsewhere` says, before that, whether a viewer on
   * another node left its mark (the signal telling of it may have been lost). It never rejects.
   */
  constructor(graceMs: number, onExpired: () => void, watchedElsewhere: () => Promise<boolean>) {
    this.#graceMs = graceMs
    this.#onExpired = onExpired
    this.#watchedElsewhere = watchedElsewhere
  }

  /** A viewer on this node; call the returned function when it leaves (once). */
  attach(): () => void {
    this.#viewers++
    this.#arrivals++
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
      this.#expire()
      return
    }
    // setTimeout caps delays at 2^31 - 1 ms (~24.8 days).
    this.#timer = setTimeout(() => this.#expire(), Math.min(this.#graceMs, 2_147_483_647))
    this.#timer.unref()
  }

  /** Nobody came back in time: stopped, unless a viewer showed up elsewhere. */
  #expire(): void {
    const arrivals = this.#arrivals
    void this.#watchedElsewhere().then((watched) => {
      if (watched) this.dispose()
      // Not when a viewer came meanwhile (its departure times a grace of its own) or it ended.
      else if (!this.#disabled && this.#arrivals === arrivals) this.#onExpired()
    })
  }
}
