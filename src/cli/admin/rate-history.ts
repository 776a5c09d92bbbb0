/** Updates in and out during one sampling interval, as rates. */
export interface RateSample {
  /** When the interval ended, in ms since the Unix epoch. */
  readonly time: number
  /** Updates accepted from publishers, per second. */
  readonly in: number
  /** Updates written to subscribers, per second. */
  readonly out: number
}

/** What {@link RateHistory.sample} reads: counters that only grow. */
export interface RateCounters {
  readonly published: number
  readonly delivered: number
}

/**
 * The last `capacity` rates of updates in and out, from counters read at each sample: what the
 * dashboard's chart draws. Sampled whether or not anyone watches (it costs two subtractions), so
 * a page opened now shows the minutes before it.
 */
export class RateHistory {
  readonly #capacity: number
  readonly #samples: RateSample[] = []
  #last: { readonly time: number; readonly counters: RateCounters } | undefined

  constructor(capacity: number) {
    this.#capacity = capacity
  }

  /** Records the rates since the previous sample (the first sample only sets the baseline). */
  sample(counters: RateCounters, time: number): void {
    const last = this.#last
    this.#last = { time, counters: { published: counters.published, delivered: counters.delivered } }
    if (last === undefined || time <= last.time) return
    const seconds = (time - last.time) / 1000
    this.#samples.push({
      time,
      in: round((counters.published - last.counters.published) / seconds),
      out: round((counters.delivered - last.counters.delivered) / seconds),
    })
    if (this.#samples.length > this.#capacity) this.#samples.shift()
  }

  /** The newest sample, or zeros before the second one. */
  latest(): RateSample {
    return this.#samples.at(-1) ?? { time: this.#last?.time ?? 0, in: 0, out: 0 }
  }

  /** Oldest first. */
  samples(): readonly RateSample[] {
    return [...this.#samples]
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10
}
