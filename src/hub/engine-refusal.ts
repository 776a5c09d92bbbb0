import { StorageFullError } from "../engine/storage-full.js"
import { TooManyLogsError } from "../engine/too-many-logs.js"
import { EngineUnavailableError } from "../engine/unavailable.js"
import type { HubContext } from "./context.js"
import { HttpError } from "./http-error.js"

/**
 * `error` as the hub answers it when the engine refused. An engine that cannot reach its store
 * (Redis down, failing over) is a 503 naming the engine, with `Retry-After`: the same request may
 * succeed in a moment. A publish whose answer was lost may have been stored: the publisher is
 * told that publishing it again may deliver it twice. An engine at its maximum of logs (shared
 * with the streams and the AI endpoints) is a 503 too, without `Retry-After`: it lasts until
 * logs are deleted or expire. An engine whose storage is full (a disk, Redis's maxmemory, the memory engine's maxBytes) is a 507, without `Retry-After`: it
 * lasts until an operator frees space. Anything else is returned as it is.
 */
export function withEngineRefusal(
  context: HubContext,
  error: unknown,
  asked: HubRequestKind = "other",
): unknown {
  if (error instanceof TooManyLogsError) {
    return new HttpError(
      503,
      `The hub's ${context.updates.engine.name} engine holds its maximum of ${error.maxLogs} logs, shared with the streams and the AI endpoints, so the hub's log cannot be created; nothing was stored. An operator can free logs (delete streams) or raise the engine's maxLogs.`,
    )
  }
  if (error instanceof StorageFullError) {
    return new HttpError(
      507,
      `The hub's ${error.engine} engine has no room: ${error.store} is full, so nothing was stored. An operator can ${error.remedy}, or have the hub keep fewer updates (herald serve's --retention-max-events and --retention-max-age).`,
    )
  }
  if (!(error instanceof EngineUnavailableError)) return error
  // Publishers come back when subscribers do (--retry), and never sooner than in a second.
  const seconds = Math.max(1, Math.ceil(context.settings.retryMs / 1000))
  const outcome =
    asked === "publish" && error.maybeApplied
      ? "its answer was lost, so the update may have been stored: publishing it again may deliver it twice"
      : "nothing was acknowledged"
  return new HttpError(
    503,
    `The hub's ${context.updates.engine.name} engine is unavailable (${error.message}); ${outcome}. Retry in ${seconds} s.`,
    { "retry-after": String(seconds) },
  )
}

/** What a refused request asked: a publish may have stored its updates though its answer was lost. */
export type HubRequestKind = "publish" | "other"
