import type { Engine } from "../engine/engine.js"
import { hasHealth } from "../engine/health.js"

/** How long a readiness answer is reused: many probes (several load balancers) cost the store one check. */
export const ENGINE_READINESS_CACHE_MS = 1000

/** What a readiness probe found. */
export interface EngineReadiness {
  /** Why the engine cannot serve now (its store does not answer), or `undefined` when it can. */
  readonly problem?: string
  /**
   * Why its writes fail (its storage is full), when they do. Not a reason to be unready: reads
   * and open subscribers are still served, a publisher gets a 507 saying what is full, and
   * there is no other node to send them to (a sqlite file or a memory engine has one process).
   */
  readonly full?: string
}

/**
 * Whether the engine can serve now. An engine with the health capability is probed with it
 * (one PING to Redis); another is asked for the head of `log`. Probes running at once share one
 * check, and its answer is reused for `cacheMs` (by the clock `now`, in ms).
 */
export function engineReadiness(
  engine: Engine,
  log: string,
  cacheMs = ENGINE_READINESS_CACHE_MS,
  now: () => number = () => performance.now(),
): () => Promise<EngineReadiness> {
  let last: { readonly at: number; readonly answer: Promise<EngineReadiness> } | undefined
  const check = async (): Promise<EngineReadiness> => {
    if (hasHealth(engine)) {
      const health = await engine.health()
      if (health.status === "up") return {}
      if (health.status === "full") return { full: `the ${engine.name} engine is full: ${health.reason}` }
      return { problem: `the ${engine.name} engine is unavailable: ${health.reason}` }
    }
    try {
      await engine.head(log)
      return {}
    } catch (error) {
      return { problem: `the ${engine.name} engine does not answer: ${(error as Error).message}` }
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
