/**
 * `herald/engine`: where Herald's logs live and how they travel between nodes — the contract
 * every engine keeps (named, append-only logs with epoch-tagged sortable positions, typed append
 * results with producer, writer and owner fences, closure, expiry, signals, leases), `follow`
 * (replay then live, with no gap and no duplicate, over any engine), and the in-process memory
 * engine. Use it to build an app on logs, or to write an engine of your own: `LocalFeed` fans a
 * node's live appends out to its watchers, `checkProducer` runs the idempotent-producer fence.
 *
 * @packageDocumentation
 */

export type { Logger } from "../logger.js"
export type {
  AppendOptions,
  AppendResult,
  CreateResult,
  Engine,
  Entry,
  FeedSink,
  LogConfig,
  LogHead,
  LogList,
  NewEntry,
  ReadResult,
  Retention,
  Signal,
} from "./engine.js"
export { type FollowEnd, type Follower, type FollowOptions, follow, type NotHeldReason } from "./follow.js"
export { LocalFeed } from "./local-feed.js"
export { createMemoryEngine, type MemoryEngineOptions } from "./memory.js"
export {
  formatPosition,
  newEpoch,
  type ParsedPosition,
  type Position,
  parsePosition,
  START,
} from "./position.js"
export {
  assertProducerFence,
  checkProducer,
  type ProducerCheck,
  type ProducerFence,
  type ProducerState,
} from "./producer.js"
export { RETENTION_DEFAULTS, type ResolvedRetention, resolveRetention } from "./retention.js"
