import { EngineUnavailableError } from "../engine/unavailable.js"
import type { HubContext } from "./context.js"
import { HttpError } from "./http-error.js"

/**
 * `error` as the hub answers it. An engine that cannot reach its store (Redis down, failing
 * over) is a 503 naming the engine, with `Retry-After`: the same request may succeed in a moment.
 * A publish whose answer was lost may have been stored: the publisher is told that publishing
 * it again may deliver it twice. Anything else is returned as it is.
 */
export function withEngineUnavailable(
  context: HubContext,
  error: unknown,
  asked: HubRequestKind = "other",
): unknown {
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
