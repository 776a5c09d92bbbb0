/**
 * `herald/engine`: where Herald's logs live and how they travel between nodes — the contract
 * every engine keeps (named, append-only logs with epoch-tagged sortable positions, typed append
 * results with producer, writer and owner fences, closure, expiry, signals, leases), `follow`
 * (replay then live, with no gap and no duplicate, over any engine), and three engines: memory
 * (in-process), sqlite (durable, one process per file; needs the optional better-sqlite3) and
 * redis (distributed: standalone, Sentinel or Cluster; needs the optional ioredis). Each driver
 * is loaded when its engine is created, not when this module is imported. `hasHealth` probes an
 * engine for the optional health capability (redis and sqlite have it). Use it to build an app on logs, or
 * to write an engine of your own: `LocalFeed` fans a node's live appends out to its watchers,
 * `checkProducer` runs the idempotent-producer fence.
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
  FormerEpoch,
  LogConfig,
  LogHead,
  LogList,
  NewEntry,
  ReadOptions,
  ReadResult,
  Retention,
  Signal,
  StopOptions,
} from "./engine.js"
export {
  type FollowEnd,
  type Follower,
  type FollowOptions,
  type FollowSource,
  follow,
  type NotHeldReason,
} from "./follow.js"
export { type EngineHealth, type HealthCapability, hasHealth } from "./health.js"
export { LocalFeed } from "./local-feed.js"
export { createMemoryEngine, type MemoryEngineOptions } from "./memory.js"
export {
  holdNodeLease,
  type NodeLease,
  type NodeLeaseOptions,
  type NodeLeaseView,
} from "./node-lease.js"
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
export { createRedisEngine, openRedisEngine, type RedisEngineOptions } from "./redis.js"
export { RedisSetupError } from "./redis-client.js"
export { RETENTION_DEFAULTS, type ResolvedRetention, resolveRetention } from "./retention.js"
export { createSqliteEngine, SQLITE_RETENTION_DEFAULTS, type SqliteEngineOptions } from "./sqlite.js"
export { type CheckpointPolicy, SQLITE_CHECKPOINT_DEFAULTS } from "./sqlite-checkpointer.js"
export { NotHeraldDatabaseError, SQLITE_APPLICATION_ID, SqliteNotWritableError } from "./sqlite-file.js"
export { DatabaseLockedError } from "./sqlite-lock.js"
export { SQLITE_SCHEMA_VERSION, type SqliteMigrations, type V1Update } from "./sqlite-schema.js"
export { StorageFullError } from "./storage-full.js"
export { TooManyLogsError } from "./too-many-logs.js"
export { EngineUnavailableError } from "./unavailable.js"
