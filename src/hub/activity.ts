import type { HubTotals } from "./metrics.js"
import type { MatcherCount } from "./subscriptions.js"

/**
 * What a hub is doing, for an operator's dashboard: read-only, and cheap enough to ask every
 * second. The figures are the ones `/metrics` reports, read from the same counters.
 */
export interface HubActivity {
  /** Gauges now, and counters since the hub started. */
  figures(): HubFigures
  /** The `limit` topic matchers with the most subscriptions on this node, most first. */
  mostSubscribed(limit: number): readonly MatcherCount[]
  /** Up to `limit` of the newest updates of the hub's log (published on any node), newest first. */
  recentUpdates(limit: number): Promise<readonly RecentUpdate[]>
}

/** The hub's figures on this node. */
export interface HubFigures extends HubTotals {
  /** `herald_connections`. */
  readonly connections: number
  /** `herald_subscriptions`. */
  readonly subscriptions: number
  /** `herald_replays_waiting`. */
  readonly replaysWaiting: number
}

/** An update as a dashboard lists it. */
export interface RecentUpdate {
  readonly id: string
  readonly topics: readonly string[]
  /** Its SSE event type, when it has one. */
  readonly type: string | undefined
  readonly private: boolean
  /** When it was stored, in ms since the Unix epoch. */
  readonly time: number
  /** The size of its data, in UTF-8 bytes. */
  readonly bytes: number
}
