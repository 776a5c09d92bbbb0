import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client"

/** What the hub records; the hot-path counts are plain numbers read at scrape time. */
export interface HubMetrics {
  readonly registry: Registry
  /** Deliveries to subscribers (called once per update per subscriber: kept cheap). */
  delivered(count: number): void
  /** An accepted publish request of `updates` updates that took `seconds`. */
  published(updates: number, seconds: number): void
  /** A subscriber disconnected because its queue filled. */
  overflowed(): void
  /** A refused request, by status code. */
  refused(status: number): void
  /** A subscribe request told to come back after `retry` instead of served, and why. */
  deferred(reason: DeferralReason): void
  /** The counters' values now: the same numbers `/metrics` reports. */
  totals(): HubTotals
}

/**
 * Why a subscriber was told to come back: its store out of reach (`engine_unavailable`), or as many
 * resuming subscribers already waiting to read history as allowed (`replays_busy`, `maxQueuedReplays`).
 */
export type DeferralReason = "engine_unavailable" | "replays_busy"

/** What the hub's counters hold since it started. */
export interface HubTotals {
  /** `herald_updates_published_total`. */
  readonly published: number
  /** `herald_updates_delivered_total`. */
  readonly delivered: number
  /** `herald_queue_overflows_total`. */
  readonly overflows: number
}

/** Live values the gauges read at scrape time. */
export interface HubGauges {
  connections(): number
  subscriptions(): number
  replaysWaiting(): number
  /** Whether the engine can serve now: the check `/readyz` makes (cached, so a scrape costs the store little). */
  engineUp(): Promise<boolean>
  /** Whether the engine's writes fail for want of room (a full disk, maxmemory, maxBytes): from the same check. */
  engineFull(): Promise<boolean>
}

/** Creates the hub's Prometheus metrics on a registry of their own (several hubs can share a process). */
export function createHubMetrics(gauges: HubGauges): HubMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: "herald_" })
  // Plain numbers beside the Prometheus counters: read every second by the dashboard, cheaply.
  let deliveries = 0
  let reportedDeliveries = 0
  let publishedUpdates = 0
  let overflowCount = 0
  new Gauge({
    name: "herald_connections",
    help: "Open subscriber connections.",
    registers: [registry],
    collect() {
      this.set(gauges.connections())
    },
  })
  new Gauge({
    name: "herald_subscriptions",
    help: "Active subscriptions (one per topic matcher of each connection).",
    registers: [registry],
    collect() {
      this.set(gauges.subscriptions())
    },
  })
  new Gauge({
    name: "herald_replays_waiting",
    help: "History reads of resuming subscribers waiting for a slot (--max-concurrent-replays).",
    registers: [registry],
    collect() {
      this.set(gauges.replaysWaiting())
    },
  })
  new Gauge({
    name: "herald_engine_up",
    help: "1 while the engine answers (the check /readyz makes), 0 while its store is out of reach.",
    registers: [registry],
    async collect() {
      this.set((await gauges.engineUp()) ? 1 : 0)
    },
  })
  new Gauge({
    name: "herald_engine_full",
    help: "1 while the engine's writes fail for want of room (the sqlite engine's disk, Redis's maxmemory, the memory engine's maxBytes; reads are still served), else 0.",
    registers: [registry],
    async collect() {
      this.set((await gauges.engineFull()) ? 1 : 0)
    },
  })
  new Counter({
    name: "herald_updates_delivered_total",
    help: "Updates written to subscribers (one per update per subscriber).",
    registers: [registry],
    collect() {
      this.inc(deliveries - reportedDeliveries)
      reportedDeliveries = deliveries
    },
  })
  const updatesIn = new Counter({
    name: "herald_updates_published_total",
    help: "Updates accepted from publishers.",
    registers: [registry],
  })
  const overflows = new Counter({
    name: "herald_queue_overflows_total",
    help: "Subscribers disconnected because they read too slowly and their queue filled.",
    registers: [registry],
  })
  const refusals = new Counter({
    name: "herald_requests_refused_total",
    help: "Requests refused, by status code.",
    labelNames: ["status"],
    registers: [registry],
  })
  const deferrals = new Counter({
    name: "herald_subscribes_deferred_total",
    help: "Subscribe requests told to come back after `retry` instead of served, by reason: engine_unavailable (the store out of reach), replays_busy (as many resuming subscribers already wait to read history as --max-queued-replays allows).",
    labelNames: ["reason"],
    registers: [registry],
  })
  const publishLatency = new Histogram({
    name: "herald_publish_duration_seconds",
    help: "Time from a publish request's arrival to its acknowledgement (stored, and handed to subscribers).",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  })
  return {
    registry,
    delivered(count) {
      deliveries += count
    },
    published(updates, seconds) {
      publishedUpdates += updates
      updatesIn.inc(updates)
      publishLatency.observe(seconds)
    },
    overflowed() {
      overflowCount++
      overflows.inc()
    },
    refused(status) {
      refusals.inc({ status: String(status) })
    },
    deferred(reason) {
      deferrals.inc({ reason })
    },
    totals: () => ({ published: publishedUpdates, delivered: deliveries, overflows: overflowCount }),
  }
}
