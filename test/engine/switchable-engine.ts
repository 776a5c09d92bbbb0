import type { Engine } from "../../src/engine/engine.js"
import type { EngineHealth, HealthCapability } from "../../src/engine/health.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { EngineUnavailableError } from "../../src/engine/unavailable.js"

/** A memory engine whose store can be switched off: every call then rejects as Redis's do. */
export function switchableEngine(): {
  engine: Engine & HealthCapability
  /** `answerLost`: calls are refused as a write whose answer was lost (a timeout) is. */
  setDown(down: boolean, answerLost?: boolean): void
  probes(): number
} {
  const engine = createMemoryEngine() as Engine & HealthCapability
  let down = false
  let maybeApplied = false
  let probes = 0
  const away = () => new EngineUnavailableError("switchable engine: the store is away.", { maybeApplied })
  for (const method of ["append", "read", "head", "locate", "watch", "create"] as const) {
    const original = (engine[method] as (...args: unknown[]) => Promise<unknown>).bind(engine)
    ;(engine as unknown as Record<string, unknown>)[method] = (...args: unknown[]) =>
      down ? Promise.reject(away()) : original(...args)
  }
  engine.health = async (): Promise<EngineHealth> => {
    probes++
    return down ? { status: "down", reason: "the store is away" } : { status: "up", latencyMs: 0 }
  }
  return {
    engine,
    setDown(value, answerLost = false) {
      down = value
      maybeApplied = answerLost
    },
    probes: () => probes,
  }
}
