import type { Cors } from "../auth/cors.js"
import type { PreparedTopic } from "../auth/matchers/matcher.js"
import type { Entry } from "../engine/engine.js"
import type { ClientAddressResolver, SSE } from "../server/index.js"
import type { HubAdmission } from "./admission.js"
import type { Authenticator } from "./authenticate.js"
import type { EngineAwayWarnings } from "./engine-away-warnings.js"
import type { LostHistoryOutcome } from "./lost-history-report.js"
import type { HubMetrics } from "./metrics.js"
import type { ReplayGate } from "./replay-gate.js"
import type { HubSettings } from "./settings.js"
import type { SubscriptionDirectory, SubscriptionRegistry } from "./subscriptions.js"
import type { StoredUpdate } from "./update.js"
import type { UpdateLog } from "./update-log.js"

/** What every request handler of a hub shares. */
export interface HubContext {
  readonly settings: HubSettings
  /** The hub's updates: one log on the engine. */
  readonly updates: UpdateLog
  readonly sse: SSE
  readonly auth: Authenticator
  readonly admission: HubAdmission
  /** Bounds the history reads of resuming subscribers: a subscriber follows through `replays.forFollower()`. */
  readonly replays: ReplayGate
  /** This node's subscriptions. */
  readonly subscriptions: SubscriptionRegistry
  /** What the subscription API lists: every live node's subscriptions, or this node's. */
  readonly directory: SubscriptionDirectory
  readonly metrics: HubMetrics
  readonly cors: Cors
  /** The client's address: the TCP peer's, or the one a trusted proxy forwarded. */
  readonly clientAddress: ClientAddressResolver
  /**
   * The update's topics parsed once for URL-pattern matching, shared by every subscriber: once
   * per stored update object, however the deliveries of several updates interleave.
   */
  readonly preparedTopics: (update: StoredUpdate) => readonly PreparedTopic[]
  /** The frames of a batch of entries appended together, joined once per batch and shared, like {@link preparedTopics}. */
  readonly joinedFrames: (entries: readonly Entry[]) => string
  /**
   * Counts a subscriber stream whose next updates are gone from the store: closed (trimmed under
   * it), or continued with the updates of a log started over (lost-history-report.ts).
   */
  readonly reportLostHistory: (outcome: LostHistoryOutcome) => void
  /** The warnings each subscriber would repeat while the engine is away: a few lines with counts. */
  readonly engineAway: EngineAwayWarnings
  /** `true` once a graceful shutdown began. */
  readonly closing: () => boolean
}
