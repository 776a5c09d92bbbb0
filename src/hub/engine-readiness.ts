import type { Engine } from "../engine/engine.js"
import { hasHealth } from "../engine/health.js"

/** How long a readiness answer is reused: many probes (several load balancers) cost the store one check. */
export const ENGINE_READINESS_CACHE_MS = 1000

/**
 * Whether the engine can serve now: `undefined` when it can, else why not. An engine with the
 * health capability is probed with it (one PING to Redis); another is asked for the head of
 * `log`. Probes running at once share one check, and its answer is reused for `cacheMs` (by
 * the clock `now`, in ms).
 */
export function engineReadiness(
  engine: Engine,
  log: string,
  cacheMs = ENGINE_READINESS_CACHE_MS,
  now: () => number = () => performance.now(),
): () => Promise<string | undefined> {
  let last: { readonly at: number; readonly answer: Promise<string | undefined> } | undefined
  const check = async (): Promise<string | undefined> => {
    if (hasHealth(engine)) {
      const health = await engine.health()
      return health.status === "up" ? undefined : `the ${engine.name} engine is unavailable: ${health.reason}`
    }
    try {
      await engine.head(log)
      return undefined
    } catch (error) {
      return `the ${engine.name} engine does not answer: ${(error as Error).message}`
    }
  }
  return () => {
    const at = now()
    if (last === undefined || at - last.at >= cacheMs) {
      const answer = check()
      last = { at, answer }
      // Counted from when the check ends: a check that hangs is not reused past its answer.
      void answer.then(() => {
        if (last?.answer === answer) last = { at: now(), answer }
      })
    }
    return last.answer
  }
}
