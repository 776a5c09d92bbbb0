import type { Engine } from "../engine/engine.js"
import { START } from "../engine/position.js"
import { StatsRecorder } from "./stats-recorder.js"
import { type GenerationStats, parseEntry } from "./stored-entry.js"

/** Entries read per page, and the most read, to measure a generation its node left open. */
const PAGE = 1_000
const MOST_READ = 100_000

/**
 * What a generation measured, read back from its log (as far as it goes when read): for one whose
 * node died before writing its end, so that the end another node writes says how far it got —
 * its time to first token, its output (counted from its deltas when the provider's count never
 * came), its rate — and lasts until its last entry rather than until it was noticed. Each entry
 * counts at the time the engine stored it. A log longer than {@link MOST_READ} entries is
 * measured on its first ones only.
 */
export async function storedStats(engine: Engine, log: string, createdAt: number): Promise<GenerationStats> {
  const stats = new StatsRecorder(createdAt)
  let lastAt = createdAt
  let after: Parameters<Engine["read"]>[1] = START
  for (let read = 0; read < MOST_READ; read += PAGE) {
    const page = await engine.read(log, after, PAGE, { touch: false })
    if (!page.held) break
    for (const stored of page.entries) {
      const entry = parseEntry(stored.data)
      if (entry.type !== "end") stats.observe(entry, stored.time)
      lastAt = Math.max(lastAt, stored.time)
    }
    const last = page.entries.at(-1)
    if (!page.more || last === undefined) break
    after = last.position
  }
  return stats.finish(lastAt)
}
