/**
 * Sub-buckets per power of two: values are kept to within 1/64 (1.6 %) of what was recorded,
 * in a fixed, small array, whatever the spread (HdrHistogram's idea, reduced to what bench needs).
 */
const SUB_BUCKETS = 64
/** Values below this are exact: one bucket per microsecond. */
const LINEAR_LIMIT = 2 * SUB_BUCKETS

/**
 * Latencies in microseconds, bucketed so that recording is O(1) and any percentile can be read
 * at the end, however many deliveries a run counts.
 */
export class LatencyHistogram {
  private readonly counts: number[] = []
  private total = 0
  private highest = 0

  /** Records one latency, in milliseconds (negative ones, from clock skew, count as 0). */
  record(ms: number): void {
    const micros = Math.max(0, Math.round(ms * 1000))
    const index = bucketOf(micros)
    while (this.counts.length <= index) this.counts.push(0)
    this.counts[index] = (this.counts[index] ?? 0) + 1
    this.total++
    if (micros > this.highest) this.highest = micros
  }

  /** How many latencies were recorded. */
  get count(): number {
    return this.total
  }

  /** The largest latency recorded, in ms (exact), or undefined when none was. */
  get maxMs(): number | undefined {
    return this.total === 0 ? undefined : this.highest / 1000
  }

  /**
   * The latency at quantile `q` (0–1), in ms: the upper edge of the bucket holding it (never above
   * the maximum), so a percentile is never reported better than it was. Undefined when empty.
   */
  quantileMs(q: number): number | undefined {
    if (this.total === 0) return undefined
    const rank = Math.max(1, Math.ceil(q * this.total))
    let seen = 0
    for (let index = 0; index < this.counts.length; index++) {
      seen += this.counts[index] ?? 0
      if (seen >= rank) return Math.min(upperEdgeOf(index), this.highest) / 1000
    }
    return this.highest / 1000
  }
}

/** The bucket of a value in µs: exact below {@link LINEAR_LIMIT}, then 64 per power of two. */
export function bucketOf(micros: number): number {
  if (micros < LINEAR_LIMIT) return micros
  const shift = Math.floor(Math.log2(micros)) - Math.log2(SUB_BUCKETS)
  return SUB_BUCKETS * shift + Math.floor(micros / 2 ** shift)
}

/** The largest value (µs) that falls in bucket `index`. */
export function upperEdgeOf(index: number): number {
  if (index < LINEAR_LIMIT) return index
  const shift = Math.floor(index / SUB_BUCKETS) - 1
  const mantissa = index - SUB_BUCKETS * shift
  return (mantissa + 1) * 2 ** shift - 1
}
