import { stat } from "node:fs/promises"
import { performance } from "node:perf_hooks"
import type { Engine } from "../../engine/engine.js"
import { type EngineHealth, hasHealth } from "../../engine/health.js"

/** The engine as the dashboard shows it. */
export interface EngineStatus {
  /** `memory`, `sqlite`, `redis`. */
  readonly name: string
  /**
   * The engine's own probe when it has one (Redis: a PING's round trip); otherwise the time one
   * `head` takes, which for an in-process store says only that it answers.
   */
  readonly health: EngineHealth
  /** The sqlite database: its path and sizes in bytes (the WAL apart: it grows between checkpoints). */
  readonly file?: { readonly path: string; readonly bytes: number; readonly walBytes: number }
}

/** A log name no app uses: `head` of it is the cheapest question an engine can answer. */
const PROBE_LOG = "herald/admin/probe"

/** Probes `engine` once; never rejects. `file`: the sqlite database file, when the engine is sqlite. */
export async function engineStatus(engine: Engine, file: string | undefined): Promise<EngineStatus> {
  const [health, sizes] = await Promise.all([
    probe(engine),
    file === undefined ? undefined : Promise.all([sizeOf(file), sizeOf(`${file}-wal`)]),
  ])
  return {
    name: engine.name,
    health,
    ...(file === undefined || sizes === undefined
      ? {}
      : { file: { path: file, bytes: sizes[0], walBytes: sizes[1] } }),
  }
}

async function probe(engine: Engine): Promise<EngineHealth> {
  if (hasHealth(engine)) return await engine.health()
  const started = performance.now()
  try {
    await engine.head(PROBE_LOG)
    return { status: "up", latencyMs: Math.round((performance.now() - started) * 1000) / 1000 }
  } catch (error) {
    return { status: "down", reason: (error as Error).message }
  }
}

/** A file's size, 0 when it is missing (no WAL right after a checkpoint). */
async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size
  } catch {
    return 0
  }
}
