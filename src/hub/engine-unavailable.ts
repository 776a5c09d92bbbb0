import { EngineUnavailableError } from "../engine/unavailable.js"
import type { HubContext } from "./context.js"
import { HttpError } from "./http-error.js"

/**
 * `error` as the hub answers it. An engine that cannot reach its store (Redis down, failing
 * over) is a 503 naming the engine, with `Retry-After`: nothing was acknowledged, and the same
 * request may succeed in a moment. Anything else is returned as it is.
 */
export function withEngineUnavailable(context: HubContext, error: unknown): unknown {
  if (!(error instanceof EngineUnavailableError)) return error
  // Publishers come back when subscribers do (--retry), and never sooner than in a second.
  const seconds = Math.max(1, Math.ceil(context.settings.retryMs / 1000))
  return new HttpError(
    503,
    `The hub's ${context.updates.engine.name} engine is unavailable (${error.message}); nothing was acknowledged. Retry in ${seconds} s.`,
    { "retry-after": String(seconds) },
  )
}
