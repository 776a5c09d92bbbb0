import type { Engine } from "../engine/engine.js"
import { formatPosition, parsePosition } from "../engine/position.js"
import { subjectScopedLog } from "./subject-scoped-log.js"

const CHAT_LOG_PREFIX = "ai/chat/"

/**
 * Which generation answers an AI SDK chat last, so `GET /v1/ai-sdk/chat/{chatId}/stream` finds
 * it on any node: a log per subject and chat holding the latest generation's id.
 */
export interface ChatGenerations {
  /** Records `id` as the chat's latest generation. */
  record(subject: string | undefined, chatId: string, id: string): Promise<void>
  /** The chat's latest generation id, if one was recorded and is still kept. */
  latest(subject: string | undefined, chatId: string): Promise<string | undefined>
}

/** The chats' latest generations on `engine`, each kept `ttlMs` after its last write or read. */
export function createChatGenerations(engine: Engine, ttlMs: number): ChatGenerations {
  // Only the latest matters: the log keeps one entry, as long as the log itself (not the
  // engine's default age, which may be the hub's).
  const config = { ttlMs, retention: { maxEntries: 1, maxAgeMs: ttlMs } }
  return {
    async record(subject, chatId, id) {
      const log = subjectScopedLog(CHAT_LOG_PREFIX, subject, chatId)
      const result = await engine.append(log, [{ data: id }], { create: config })
      // Made by a node with another retention setting: its config stays, the entry goes in.
      if (result.status === "conflict") await engine.append(log, [{ data: id }])
    },
    async latest(subject, chatId) {
      const log = subjectScopedLog(CHAT_LOG_PREFIX, subject, chatId)
      const head = await engine.head(log)
      const tail = head === undefined ? undefined : parsePosition(head.tail)
      if (tail === undefined || tail.seq < 1) return undefined
      const read = await engine.read(log, formatPosition(tail.epoch, tail.seq - 1), 1)
      return read.held ? read.entries[0]?.data : undefined
    },
  }
}
