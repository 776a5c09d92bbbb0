/**
 * Herald's engines: where the hub's updates live and how they travel. One interface
 * ({@link Engine}), a memory engine for tests and development, and a durable SQLite engine.
 *
 * @packageDocumentation
 */

export type { CheckpointPolicy } from "../../engine/sqlite-checkpointer.js"
export { DatabaseLockedError } from "../../engine/sqlite-lock.js"
export {
  EARLIEST,
  type Engine,
  type NewUpdate,
  type ReadResult,
  type RetentionLimits,
  type StoredUpdate,
} from "./engine.js"
export { type Follower, type FollowOptions, follow } from "./follow.js"
export { createMemoryEngine, MEMORY_RETENTION_DEFAULTS, type MemoryEngineOptions } from "./memory.js"
export type { ResolvedRetention } from "./retention.js"
export {
  createSqliteEngine,
  SQLITE_APPLICATION_ID,
  SQLITE_CHECKPOINT_DEFAULTS,
  SQLITE_RETENTION_DEFAULTS,
  SQLITE_SCHEMA_VERSION,
  type SqliteEngineOptions,
} from "./sqlite.js"
