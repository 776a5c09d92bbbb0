import { performance } from "node:perf_hooks"

/** Cumulative busy and idle time of the event loop, in ms (what `performance.eventLoopUtilization()` answers). */
export interface LoopTimes {
  readonly active: number
  readonly idle: number
}

/** When {@link LoopLoad} calls the loop saturated. */
export interface LoopLoadOptions {
  /** The shortest stretch of time a reading covers, in ms. Default 100. */
  readonly sampleMs?: number
  /** Saturated from this share of the time busy on. Default 0.9. */
  readonly enterAt?: number
  /** Saturated until the share falls below this. Default 0.75. */
  readonly leaveAt?: number
  /** The loop's times (tests). Default `performance.eventLoopUtilization()`. */
  readonly read?: () => LoopTimes
  /** A monotonic clock in ms (tests). Default `performance.now()`. */
  readonly now?: () => number
}

/**
 * Whether this process's event loop is saturated: busy (not waiting for I/O) for most of the
 * last stretch. Read on demand, at most once per `sampleMs`, with no timer of its own: a
 * reading costs a microsecond or so. Two thresholds, so that it does not flip on every reading
 * near one.
 */
export class LoopLoad {
  readonly #sampleMs: number
  readonly #enterAt: number
  readonly #leaveAt: number
  readonly #read: () => LoopTimes
  readonly #now: () => number
  #last: LoopTimes
  #lastAt: number
  #saturated = false

  constructor(options: LoopLoadOptions = {}) {
    this.#sampleMs = options.sampleMs ?? 100
    this.#enterAt = options.enterAt ?? 0.9
    this.#leaveAt = options.leaveAt ?? 0.75
    this.#read = options.read ?? (() => performance.eventLoopUtilization())
    this.#now = options.now ?? (() => performance.now())
    this.#last = this.#read()
    this.#lastAt = this.#now()
  }

  /** Whether the loop was saturated over the last reading (a new one once `sampleMs` passed). */
  saturated(): boolean {
    const now = this.#now()
    if (now - this.#lastAt < this.#sampleMs) return this.#saturated
    const times = this.#read()
    const active = times.active - this.#last.active
    const total = active + times.idle - this.#last.idle
    this.#last = times
    this.#lastAt = now
    const share = total > 0 ? active / total : 0
    this.#saturated = this.#saturated ? share >= this.#leaveAt : share >= this.#enterAt
    return this.#saturated
  }
}
