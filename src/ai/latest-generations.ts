import type { Engine } from "../engine/engine.js"
import { formatPosition, parsePosition } from "../engine/position.js"
import { subjectScopedLog } from "./subject-scoped-log.js"

/**
 * Which generation a name a client uses last led to, found on any node: a log per subject and
 * name holding the latest generation's id. An AI SDK chat id names the chat's latest generation
 * (`GET /v1/ai-sdk/chat/{chatId}/stream`); a tool call's id names the generation that made the
 * call (reasoning-memory.ts).
 */
export interface LatestGenerations {
  /** Records `id` as the latest generation of `name`. */
  record(subject: string | undefined, name: string, id: string): Promise<void>
  /** The latest generation id of `name`, if one was recorded and is still kept. */
  latest(subject: string | undefined, name: string): Promise<string | undefined>
}

/**
 * The latest generations of names under `prefix` (`ai/chat/`, `ai/call/`) on `engine`, each kept
 * `ttlMs` after its last write or read.
 */
export function createLatestGenerations(engine: Engine, prefix: string, ttlMs: number): LatestGenerations {
  // Only the latest matters: the log keeps one entry, as long as the log itself (not the
  // engine's default age, which may be the hub's).
  const config = { ttlMs, retention: { maxEntries: 1, maxAgeMs: ttlMs } }
  return {
    async record(subject, name, id) {
      const log = subjectScopedLog(prefix, subject, name)
      const result = await engine.append(log, [{ data: id }], { create: config })
      // Made by a node with another retention setting: its config stays, the entry goes in.
      if (result.status === "conflict") await engine.append(log, [{ data: id }])
    },
    async latest(subject, name) {
      const log = subjectScopedLog(prefix, subject, name)
      const head = await engine.head(log)
      const tail = head === undefined ? undefined : parsePosition(head.tail)
      if (tail === undefined || tail.seq < 1) return undefined
      const read = await engine.read(log, formatPosition(tail.epoch, tail.seq - 1), 1)
      return read.held ? read.entries[0]?.data : undefined
    },
  }
}
