import type { Engine } from "../engine/engine.js"
import { StorageFullError } from "../engine/storage-full.js"
import { TooManyLogsError } from "../engine/too-many-logs.js"
import { EngineUnavailableError } from "../engine/unavailable.js"
import { StreamsError } from "./errors.js"

/** Seconds a client waits before retrying while the engine cannot reach its store (a Redis failing over). */
const RETRY_AFTER_SECONDS = 1

/**
 * `error` as the streams answer it when the engine refused: a {@link StreamsError}, or `error`
 * itself when it is no refusal of the engine's.
 *
 * - The engine cannot reach its store right now: a 503 with `Retry-After`, since the same
 *   request may succeed in a moment. An append may or may not have been stored when the
 *   connection broke, so the detail says how to retry it without a duplicate.
 * - The engine holds its maximum of logs (shared with the hub and the AI endpoints): a 507
 *   Insufficient Storage, which lasts until streams are deleted or expire.
 * - The engine's storage is full (a disk, Redis's maxmemory, the memory engine's maxBytes): a 507 too, which lasts until room
 *   is made.
 */
export function engineRefusal(engine: Engine, error: unknown): unknown {
  if (error instanceof EngineUnavailableError) {
    return new StreamsError(
      503,
      `The streams' ${engine.name} engine is unavailable (${error.message}). Retry in ${RETRY_AFTER_SECONDS} s; an append may have been stored, so retry appends with the same Producer-Id, Producer-Epoch and Producer-Seq to be safe from duplicates.`,
      { "retry-after": String(RETRY_AFTER_SECONDS) },
    )
  }
  if (error instanceof TooManyLogsError) {
    return new StreamsError(
      507,
      `The server's ${engine.name} engine holds its maximum of ${error.maxLogs} logs (streams, fork records, the hub's and AI generations share them): nothing was created. Delete streams you no longer need (or give them a Stream-TTL), then retry; an operator can raise the engine's maxLogs or lower the streams' maxStreams.`,
    )
  }
  if (error instanceof StorageFullError) {
    return new StreamsError(
      507,
      `The server's ${error.engine} engine has no room: ${error.store} is full, so nothing was stored. Delete streams you no longer need, then retry; an operator can ${error.remedy}, or have the hub keep fewer updates (herald serve's --retention-max-events and --retention-max-age).`,
    )
  }
  return error
}
