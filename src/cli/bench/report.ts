import type { ErrorCount } from "./error-tally.js"
import type { DeliveryTotals } from "./ledger.js"
import type { BenchResult, BenchSettings } from "./run.js"
import type { TimelineSecond } from "./timeline.js"

/** The settings a report repeats (not the URL's query, nor the tokens). */
const PARAMETERS = [
  "subscribers",
  "topics",
  "rate",
  "durationMs",
  "warmupMs",
  "drainMs",
  "connectConcurrency",
] as const

/** A run's outcome as plain data: what the table, `--json` and the chart all show. */
export interface BenchReport {
  readonly hubUrl: string
  readonly parameters: Pick<BenchSettings, (typeof PARAMETERS)[number]>
  readonly subscribers: {
    readonly requested: number
    readonly connected: number
    readonly reconnects: number
  }
  readonly publishes: {
    readonly planned: number
    readonly sent: number
    readonly acknowledged: number
    readonly failed: number
  }
  readonly deliveries: DeliveryTotals & { readonly perSecond: number }
  /** Publish→receive, over every first delivery; undefined (absent in JSON) when none arrived. */
  readonly latencyMs: {
    readonly p50: number | undefined
    readonly p95: number | undefined
    readonly p99: number | undefined
    readonly max: number | undefined
  }
  readonly errors: Readonly<Record<string, ErrorCount>>
  readonly timeline: readonly TimelineSecond[]
  /** Every publish acknowledged, every expected delivery arrived, none twice: exit code 0. */
  readonly passed: boolean
}

/** The report of a finished run. */
export function buildReport(result: BenchResult): BenchReport {
  const { settings, publishes, deliveries, latency } = result
  return {
    hubUrl: settings.hubUrl.href,
    parameters: Object.fromEntries(
      PARAMETERS.map((name) => [name, settings[name]]),
    ) as BenchReport["parameters"],
    subscribers: {
      requested: settings.subscribers,
      connected: result.connected,
      reconnects: result.reconnects,
    },
    publishes,
    deliveries: {
      ...deliveries,
      perSecond: result.measuredMs > 0 ? Math.round((deliveries.received * 1000) / result.measuredMs) : 0,
    },
    latencyMs: {
      p50: latency.quantileMs(0.5),
      p95: latency.quantileMs(0.95),
      p99: latency.quantileMs(0.99),
      max: latency.maxMs,
    },
    errors: Object.fromEntries(result.errors),
    timeline: result.timeline,
    passed:
      publishes.planned > 0 &&
      publishes.acknowledged === publishes.planned &&
      deliveries.missing === 0 &&
      deliveries.duplicated === 0,
  }
}
