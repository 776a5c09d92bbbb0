import type { Engine, LogHead } from "../engine/engine.js"
import { formatPosition, parsePosition } from "../engine/position.js"
import { generationLog } from "./generation-id.js"
import { type GenerationMeta, metaFromRecord } from "./generation-meta.js"
import { type EndEntry, parseEntry } from "./stored-entry.js"

/** A generation found in the engine: its log's head and its meta. */
export interface FoundGeneration {
  readonly id: string
  readonly log: string
  readonly head: LogHead
  readonly meta: GenerationMeta
}

/** The generation `id`, or `undefined` when the engine holds none (never created, or expired). */
export async function findGeneration(engine: Engine, id: string): Promise<FoundGeneration | undefined> {
  const log = generationLog(id)
  const head = await engine.head(log)
  const meta = metaFromRecord(head?.config.meta)
  if (head === undefined || meta === undefined) return undefined
  return { id, log, head, meta }
}

/** The terminal entry of an ended generation (the last of its log), or `undefined` while it runs. */
export async function readEnd(engine: Engine, found: FoundGeneration): Promise<EndEntry | undefined> {
  if (!found.head.closed) return undefined
  const tail = parsePosition(found.head.tail)
  if (tail === undefined || tail.seq < 1) return undefined
  const read = await engine.read(found.log, formatPosition(tail.epoch, tail.seq - 1), 1)
  const last = read.held ? read.entries[0] : undefined
  if (last === undefined) return undefined
  const entry = parseEntry(last.data)
  return entry.type === "end" ? entry : undefined
}

/** `GET /v1/generations/{id}`'s body: what the generation is and how it went. */
export function stateBody(found: FoundGeneration, end: EndEntry | undefined): Record<string, unknown> {
  const { id, head, meta } = found
  return {
    id,
    object: "generation",
    model: meta.model,
    format: meta.format,
    status: end?.status ?? (head.closed ? "ended" : "running"),
    created_at: new Date(meta.createdAt).toISOString(),
    ...(meta.owner === undefined ? {} : { owner: meta.owner }),
    // Where a reader that has everything is: resuming from it sends nothing more but the end.
    cursor: head.tail,
    ...(end === undefined
      ? {}
      : {
          stats: end.stats,
          ...(end.error === undefined ? {} : { error: end.error }),
        }),
    ...(head.expiresAt === undefined ? {} : { expires_at: new Date(head.expiresAt).toISOString() }),
  }
}
