import { describe, expect, it } from "vitest"
import { bucketOf, LatencyHistogram, upperEdgeOf } from "../../src/cli/bench/histogram.js"
import { DeliveryLedger } from "../../src/cli/bench/ledger.js"
import { Timeline } from "../../src/cli/bench/timeline.js"

describe("LatencyHistogram", () => {
  it("reads percentiles within 1/64 above the true value, and the exact max", () => {
    const histogram = new LatencyHistogram()
    for (let ms = 1; ms <= 1000; ms++) histogram.record(ms)
    expect(histogram.count).toBe(1000)
    for (const [q, truth] of [
      [0.5, 500],
      [0.95, 950],
      [0.99, 990],
    ] as const) {
      const read = histogram.quantileMs(q) as number
      expect(read).toBeGreaterThanOrEqual(truth)
      expect(read).toBeLessThanOrEqual(truth * (1 + 1 / 64))
    }
    expect(histogram.maxMs).toBe(1000)
  })

  it("is empty until a value is recorded; negative latencies count as 0", () => {
    const histogram = new LatencyHistogram()
    expect(histogram.quantileMs(0.5)).toBeUndefined()
    expect(histogram.maxMs).toBeUndefined()
    histogram.record(-3)
    expect(histogram.quantileMs(0.99)).toBe(0)
  })

  it("buckets are contiguous: each value lies at or below its bucket's upper edge, above the previous one's", () => {
    for (let micros = 0; micros < 70_000; micros += 7) {
      const bucket = bucketOf(micros)
      expect(upperEdgeOf(bucket)).toBeGreaterThanOrEqual(micros)
      if (bucket > 0) expect(upperEdgeOf(bucket - 1)).toBeLessThan(micros)
    }
  })
})

describe("DeliveryLedger", () => {
  it("counts each delivery once, duplicates apart, and what never came as missing", () => {
    const ledger = new DeliveryLedger(3, 1, 4)
    for (let seq = 0; seq < 4; seq++) ledger.acknowledged(seq)
    for (const subscriber of [0, 1, 2]) for (let seq = 0; seq < 4; seq++) ledger.record(subscriber, seq)
    expect(ledger.complete()).toBe(true)
    expect(ledger.record(1, 2)).toBe("duplicate")
    expect(ledger.totals()).toEqual({ expected: 12, received: 12, missing: 0, duplicated: 1 })

    const lossy = new DeliveryLedger(3, 1, 4)
    for (let seq = 0; seq < 4; seq++) lossy.acknowledged(seq)
    for (const subscriber of [0, 1, 2])
      for (let seq = 0; seq < 4; seq++) if (subscriber !== 2 || seq !== 3) lossy.record(subscriber, seq)
    expect(lossy.complete()).toBe(false)
    expect(lossy.totals()).toEqual({ expected: 12, received: 11, missing: 1, duplicated: 0 })
  })

  it("spreads subscribers and publishes over topics; a publish on another topic is misrouted", () => {
    const ledger = new DeliveryLedger(5, 2, 4)
    expect([ledger.subscribersOn(0), ledger.subscribersOn(1)]).toEqual([3, 2])
    expect(ledger.record(0, 0)).toBe("first")
    expect(ledger.record(0, 1)).toBe("misrouted")
    expect(ledger.record(1, 1)).toBe("first")
    expect(ledger.record(1, 99)).toBe("misrouted")
  })

  it("owes no one a failed publish, and does not count a copy of it that arrived anyway", () => {
    const ledger = new DeliveryLedger(2, 1, 2)
    ledger.acknowledged(0)
    ledger.failed(1)
    for (const subscriber of [0, 1]) for (const seq of [0, 1]) ledger.record(subscriber, seq)
    expect(ledger.totals()).toEqual({ expected: 2, received: 2, missing: 0, duplicated: 0 })
  })
})

describe("Timeline", () => {
  it("groups deliveries by the second they arrived in, quiet seconds included", () => {
    const timeline = new Timeline()
    // Latencies under 0.128 ms are kept exactly, so the percentiles can be compared as such.
    timeline.record(100, 0.02)
    timeline.record(900, 0.04)
    timeline.record(2500, 0.08)
    expect(timeline.series()).toEqual([
      { second: 0, deliveries: 2, p50Ms: 0.02, p99Ms: 0.04 },
      { second: 1, deliveries: 0, p50Ms: undefined, p99Ms: undefined },
      { second: 2, deliveries: 1, p50Ms: 0.08, p99Ms: 0.08 },
    ])
  })
})
