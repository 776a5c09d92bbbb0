import type { SSE } from "../server/index.js"
import type { Admission } from "./admission.js"
import type { Authenticator } from "./authenticate.js"
import type { Cors } from "./cors.js"
import type { Engine, StoredUpdate } from "./engine/engine.js"
import type { HubMetrics } from "./metrics.js"
import type { HubSettings } from "./settings.js"
import type { SubscriptionRegistry } from "./subscriptions.js"
import type { PreparedTopic } from "./topics/matcher.js"

/** What every request handler of a hub shares. */
export interface HubContext {
  readonly settings: HubSettings
  readonly engine: Engine
  readonly sse: SSE
  readonly auth: Authenticator
  readonly admission: Admission
  readonly subscriptions: SubscriptionRegistry
  readonly metrics: HubMetrics
  readonly cors: Cors
  /**
   * The update's topics parsed once for URL-pattern matching, shared by every subscriber: the
   * fan-out hands the same update to each in turn, so a one-entry cache parses it once.
   */
  readonly preparedTopics: (update: StoredUpdate) => readonly PreparedTopic[]
  /** The frames of a batch appended together, joined once and shared (a one-entry cache, like {@link preparedTopics}). */
  readonly joinedFrames: (updates: readonly StoredUpdate[]) => string
  /** `true` once a graceful shutdown began. */
  readonly closing: () => boolean
}
