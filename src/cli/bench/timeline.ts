import { LatencyHistogram } from "./histogram.js"

/** One second of a run, as the chart and `--json` show it. */
export interface TimelineSecond {
  /** Seconds since the measured publishing began (0 is the first). */
  readonly second: number
  readonly deliveries: number
  readonly p50Ms: number | undefined
  readonly p99Ms: number | undefined
}

/**
 * Deliveries and their latencies per second of the run, by the second they arrived in: latency
 * over time shows what a single percentile hides (a hub that slows down as its queues fill).
 */
export class Timeline {
  private readonly seconds: LatencyHistogram[] = []

  /** Records a delivery that arrived `atMs` after the measured publishing began. */
  record(atMs: number, latencyMs: number): void {
    const second = Math.max(0, Math.floor(atMs / 1000))
    while (this.seconds.length <= second) this.seconds.push(new LatencyHistogram())
    this.seconds[second]?.record(latencyMs)
  }

  /** Every second from the first to the last delivery, quiet ones included (as zeros). */
  series(): TimelineSecond[] {
    return this.seconds.map((histogram, second) => ({
      second,
      deliveries: histogram.count,
      p50Ms: histogram.quantileMs(0.5),
      p99Ms: histogram.quantileMs(0.99),
    }))
  }
}
