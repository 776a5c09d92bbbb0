import { seconds } from "../doctor/format.js"
import type { BenchReport } from "./report.js"

/** A count for people: `20,000`. */
export function count(value: number): string {
  return value.toLocaleString("en-US")
}

/** A latency for people: three significant digits at most, `0.84 ms`, `12.3 ms`, `250 ms`. */
export function millis(value: number | undefined): string {
  if (value === undefined) return "–"
  return `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0)} ms`
}

/** The run's parameters in one line, for the table's heading and the chart's title. */
export function describeParameters(report: BenchReport): string {
  const { subscribers, topics, rate, durationMs, warmupMs } = report.parameters
  const warmup = warmupMs > 0 ? ` (+ ${seconds(warmupMs)} warmup)` : ""
  return `${count(subscribers)} subscriber(s) on ${count(topics)} topic(s) · ${count(rate)} publish(es)/s · ${seconds(durationMs)}${warmup}`
}

/** The report for a terminal: an aligned table, the errors by kind, and the verdict. */
export function renderTable(report: BenchReport, options: { color: boolean }): string {
  const paint = (code: string, text: string) => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text)
  const { subscribers, publishes, deliveries, latencyMs } = report
  const rows: [string, string[]][] = [
    [
      "subscribers",
      [
        `${count(subscribers.connected)} connected of ${count(subscribers.requested)}`,
        `${count(subscribers.reconnects)} reconnect(s)`,
      ],
    ],
    [
      "publishes",
      [
        `${count(publishes.sent)} sent`,
        `${count(publishes.acknowledged)} acknowledged`,
        `${count(publishes.failed)} failed`,
      ],
    ],
    [
      "deliveries",
      [
        `${count(deliveries.expected)} expected`,
        `${count(deliveries.received)} received`,
        paint(deliveries.missing > 0 ? "31" : "0", `${count(deliveries.missing)} missing`),
        paint(deliveries.duplicated > 0 ? "31" : "0", `${count(deliveries.duplicated)} duplicated`),
      ],
    ],
    ["throughput", [`${count(deliveries.perSecond)} deliveries/s`]],
    [
      "latency",
      [
        `p50 ${millis(latencyMs.p50)}`,
        `p95 ${millis(latencyMs.p95)}`,
        `p99 ${millis(latencyMs.p99)}`,
        `max ${millis(latencyMs.max)}`,
      ],
    ],
  ]
  const errors = Object.entries(report.errors)
  if (errors.length === 0) rows.push(["errors", ["none"]])
  const width = Math.max(...rows.map(([label]) => label.length)) + 3
  const lines = [`herald bench ${paint("1", report.hubUrl)}`, paint("2", describeParameters(report)), ""]
  for (const [label, cells] of rows) lines.push(`  ${label.padEnd(width)}${cells.join(" · ")}`)
  if (errors.length > 0) {
    lines.push(`  ${"errors".padEnd(width)}${count(errors.reduce((sum, [, error]) => sum + error.count, 0))}`)
    for (const [kind, error] of errors) {
      lines.push(`    ${paint("33", `${count(error.count)} × ${kind}`)}`)
      if (error.sample !== kind)
        for (const line of error.sample.split("\n")) lines.push(paint("2", `      ${line}`))
    }
  }
  lines.push("", verdict(report, paint), "")
  return lines.join("\n")
}

function verdict(report: BenchReport, paint: (code: string, text: string) => string): string {
  if (report.passed) return paint("32", "✓ every publish acknowledged, every delivery arrived exactly once")
  const { subscribers, publishes, deliveries } = report
  if (subscribers.connected === 0) return paint("31", "✗ no subscriber could connect: nothing was published")
  const problems = [
    publishes.acknowledged < publishes.planned
      ? `${count(publishes.planned - publishes.acknowledged)} publish(es) not acknowledged`
      : "",
    deliveries.missing > 0 ? `${count(deliveries.missing)} deliveries missing` : "",
    deliveries.duplicated > 0 ? `${count(deliveries.duplicated)} duplicated` : "",
  ].filter(Boolean)
  return paint("31", `✗ ${problems.join(", ")}`)
}
