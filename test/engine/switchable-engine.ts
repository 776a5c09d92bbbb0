import type { Engine } from "../../src/engine/engine.js"
import type { EngineHealth, HealthCapability } from "../../src/engine/health.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { StorageFullError } from "../../src/engine/storage-full.js"
import { EngineUnavailableError } from "../../src/engine/unavailable.js"

/** The file a full switchable engine names. */
export const FULL_PATH = "/var/lib/herald/herald.db"

/**
 * A memory engine whose store can be switched off, every call then rejecting as Redis's do, or
 * filled, its writes then rejecting as the sqlite engine's do on a full disk.
 */
export function switchableEngine(): {
  engine: Engine & HealthCapability
  /** `answerLost`: calls are refused as a write whose answer was lost (a timeout) is. */
  setDown(down: boolean, answerLost?: boolean): void
  /** Writes (`append`, `create`, `requestStop`) reject with a `StorageFullError` naming {@link FULL_PATH}; reads go on. */
  setFull(full: boolean): void
  probes(): number
} {
  const engine = createMemoryEngine() as Engine & HealthCapability
  let down = false
  let full = false
  let maybeApplied = false
  let probes = 0
  const away = () => new EngineUnavailableError("switchable engine: the store is away.", { maybeApplied })
  for (const method of ["append", "read", "head", "locate", "watch", "create", "requestStop"] as const) {
    const original = (engine[method] as (...args: unknown[]) => Promise<unknown>).bind(engine)
    const writes = method === "append" || method === "create" || method === "requestStop"
    ;(engine as unknown as Record<string, unknown>)[method] = (...args: unknown[]) =>
      down
        ? Promise.reject(away())
        : full && writes
          ? Promise.reject(
              new StorageFullError(engine.name, `the disk holding ${FULL_PATH}`, "free space on it"),
            )
          : original(...args)
  }
  engine.health = async (): Promise<EngineHealth> => {
    probes++
    if (down) return { status: "down", reason: "the store is away" }
    if (full) return { status: "full", latencyMs: 0, reason: `the disk holding ${FULL_PATH} is full` }
    return { status: "up", latencyMs: 0 }
  }
  return {
    engine,
    setDown(value, answerLost = false) {
      down = value
      maybeApplied = answerLost
    },
    setFull(value) {
      full = value
    },
    probes: () => probes,
  }
}
