import type { GenerationActivity } from "../../ai/generation-activity.js"
import type { Engine } from "../../engine/engine.js"
import type { HubActivity, HubFigures, RecentUpdate } from "../../hub/activity.js"
import type { MatcherCount } from "../../hub/subscriptions.js"
import type { StreamsOverview } from "../../streams/overview.js"
import { type EngineStatus, engineStatus } from "./engine-status.js"
import type { NodeFigures } from "./node-census.js"
import type { ProcessStatus } from "./process-probe.js"
import type { RateSample } from "./rate-history.js"

/**
 * What the dashboard reads from the apps `herald serve` runs: narrow, read-only accessors, so
 * that the admin app knows nothing of their insides.
 */
export interface AdminSources {
  /** This node's id (the one its AI generations' lease uses). */
  readonly node: string
  /** The hub's path, where the page publishes and tails. */
  readonly hubPath: string
  readonly hub: HubActivity
  readonly engine: Engine
  /** The sqlite database file, when the engine is sqlite. */
  readonly engineFile?: string
  /** This node's AI generations, when the AI endpoints are served. */
  readonly generations?: { activity(): GenerationActivity }
  /** The Durable Streams, when served. */
  readonly streams?: {
    overview(bounds: { readonly maxCount: number; readonly newest: number }): Promise<StreamsOverview>
  }
}

/**
 * A part of a snapshot that the engine failed to give (Redis down, say): the dashboard says so,
 * rather than showing an empty list that reads as "nothing published" or "not served".
 */
export interface Unavailable {
  readonly unavailable: true
  /** The engine's error. */
  readonly reason: string
}

/** The {@link Unavailable} of a failed read. */
export function unavailable(error: unknown): Unavailable {
  return { unavailable: true, reason: error instanceof Error ? error.message : String(error) }
}

/** One second of Herald, as the admin stream sends it (`event: snapshot`, JSON). */
export interface Snapshot {
  /** When it was taken, in ms since the Unix epoch. */
  readonly time: number
  readonly node: string
  /** When this process started, in ms since the Unix epoch. */
  readonly startedAt: number
  readonly hubPath: string
  /** This node's hub: the figures `/metrics` reports, with their rates over the last second. */
  readonly hub: HubFigures & {
    readonly rate: RateSample
    readonly mostSubscribed: readonly MatcherCount[]
    readonly recentUpdates: readonly RecentUpdate[] | Unavailable
  }
  /** Every node heard from, this one first. */
  readonly nodes: readonly NodeFigures[]
  readonly engine: EngineStatus
  /** This node's process: memory, CPU, event loop delay. */
  readonly process: ProcessStatus
  /** `null` when the AI endpoints are not served. */
  readonly generations: GenerationActivity | null
  /** `null` when Durable Streams are not served. */
  readonly streams: StreamsOverview | Unavailable | null
}

/** How much of each list a snapshot carries. */
export const SNAPSHOT_LIMITS = {
  topics: 10,
  recentUpdates: 8,
  recentGenerations: 8,
  streamsCounted: 10_000,
  newestStreams: 8,
} as const

/** Everything a snapshot needs besides the sources. */
export interface SnapshotInputs {
  readonly time: number
  readonly startedAt: number
  readonly rate: RateSample
  readonly nodes: readonly NodeFigures[]
  readonly process: ProcessStatus
  /** The streams overview: refreshed less often than every snapshot (it lists logs). */
  readonly streams: StreamsOverview | Unavailable | null
}

/** Takes a snapshot: the synchronous figures now, then the engine's answers. Rejects only on a bug. */
export async function takeSnapshot(sources: AdminSources, inputs: SnapshotInputs): Promise<Snapshot> {
  const figures = sources.hub.figures()
  const mostSubscribed = sources.hub.mostSubscribed(SNAPSHOT_LIMITS.topics)
  const activity = sources.generations?.activity()
  const generations =
    activity === undefined
      ? null
      : { running: activity.running, recent: activity.recent.slice(0, SNAPSHOT_LIMITS.recentGenerations) }
  const [recentUpdates, engine] = await Promise.all([
    // A store that fails shows as down in the engine's status, and the list as unavailable.
    sources.hub.recentUpdates(SNAPSHOT_LIMITS.recentUpdates).catch(unavailable),
    engineStatus(sources.engine, sources.engineFile),
  ])
  return {
    time: inputs.time,
    node: sources.node,
    startedAt: inputs.startedAt,
    hubPath: sources.hubPath,
    hub: { ...figures, rate: inputs.rate, mostSubscribed, recentUpdates },
    nodes: inputs.nodes,
    engine,
    process: inputs.process,
    generations,
    streams: inputs.streams,
  }
}
