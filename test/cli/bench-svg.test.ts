import { describe, expect, it } from "vitest"
import type { BenchReport } from "../../src/cli/bench/report.js"
import { niceCeiling, svgChart } from "../../src/cli/bench/svg-chart.js"

const REPORT: BenchReport = {
  hubUrl: "http://localhost:8080/.well-known/mercure?a=1&b=<2>",
  parameters: {
    subscribers: 20,
    topics: 2,
    rate: 10,
    durationMs: 3000,
    warmupMs: 0,
    drainMs: 5000,
    connectConcurrency: 100,
  },
  subscribers: { requested: 20, connected: 20, reconnects: 0 },
  publishes: { planned: 30, sent: 30, acknowledged: 30, failed: 0 },
  deliveries: { expected: 300, received: 300, missing: 0, duplicated: 0, perSecond: 100 },
  latencyMs: { p50: 1, p95: 2, p99: 3, max: 4 },
  errors: {},
  timeline: [
    { second: 0, deliveries: 100, p50Ms: 1, p99Ms: 3 },
    { second: 1, deliveries: 0, p50Ms: undefined, p99Ms: undefined },
    { second: 2, deliveries: 200, p50Ms: 1.5, p99Ms: 2.5 },
  ],
  passed: true,
}

describe("svgChart", () => {
  it("draws a standalone SVG: title with the parameters, both axes, p50/p99 lines, bars", () => {
    const svg = svgChart(REPORT)
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.trim().endsWith("</svg>")).toBe(true)
    expect(svg).toContain("20 subscriber(s) on 2 topic(s) · 10 publish(es)/s · 3 s")
    expect(svg).toContain("publish→receive latency (ms)")
    expect(svg).toContain("deliveries per second")
    // One line per percentile, broken at the quiet second: two segments each.
    const paths = [...svg.matchAll(/<path d="([^"]*)"/g)].map((match) => match[1] as string)
    expect(paths).toHaveLength(2)
    for (const path of paths) expect(path.match(/M/g)).toHaveLength(2)
    expect(svg.match(/<rect /g)?.length).toBeGreaterThanOrEqual(4)
    // Text is escaped: the document stays well-formed whatever the URL holds.
    expect(svg).toContain("a=1&#38;b=&#60;2&#62;")
    expect(svg).not.toContain("&b=<2>")
  })

  it("rounds axis tops to 1, 2 or 5 times a power of ten", () => {
    expect([0, 0.7, 3, 7, 12, 4800].map(niceCeiling)).toEqual([1, 1, 5, 10, 20, 5000])
  })
})
