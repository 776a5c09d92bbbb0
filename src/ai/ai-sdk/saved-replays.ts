import type { UIMessageChunk } from "ai"
import { MessageReplay } from "./message-replay.js"

/** Where {@link SavedReplays} keeps them: the part of the Web Storage API it uses (`sessionStorage`). */
export type ChatStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">

/** A replay as it is stored. */
interface SavedReplay {
  readonly cursor: string
  readonly chunks: UIMessageChunk[]
}

/** How often a chat's replay is saved while chunks come, at most, in ms: each save writes the whole message so far. */
const SAVE_EVERY_MS = 100
const KEY_PREFIX = "herald.chat."

/**
 * The chats' replays (message-replay.ts) kept in a storage, so that a reloaded page, which has
 * none of them in memory, still resumes its chat's answer from the cursor: the chunks it had are
 * replayed from the storage and Herald sends only the rest. A replay is saved at most every
 * {@link SAVE_EVERY_MS} while chunks come, at once when its response is cut and when the page is
 * hidden (`pagehide`: a reload or a closed tab), and removed once its response ended. The cursor
 * and the chunks are saved together, so a replay read back is one the chat had at some instant: a
 * resume from it fetches again what came after (never skipped), and shows nothing twice.
 *
 * Storage that refuses a write (full, or blocked) leaves the chat as without storage: it resumes
 * from the start of the running answer.
 */
export class SavedReplays {
  readonly #storage: ChatStorage | undefined
  /** Replays changed since they were last saved, by chat. */
  readonly #unsaved = new Map<string, MessageReplay>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #listening = false

  constructor(storage: ChatStorage | undefined) {
    this.#storage = storage
  }

  /** Chat `chatId`'s saved replay, if there is one (and it reads back whole). */
  load(chatId: string): MessageReplay | undefined {
    const text = this.#attempt(() => this.#storage?.getItem(KEY_PREFIX + chatId))
    if (typeof text !== "string") return undefined
    try {
      const saved = JSON.parse(text) as SavedReplay
      if (typeof saved.cursor !== "string" || !Array.isArray(saved.chunks)) return undefined
      return MessageReplay.restore(saved.cursor, saved.chunks)
    } catch {
      return undefined
    }
  }

  /** `replay` of chat `chatId` took a chunk: saved within {@link SAVE_EVERY_MS}. */
  changed(chatId: string, replay: MessageReplay): void {
    if (this.#storage === undefined) return
    this.#unsaved.set(chatId, replay)
    this.#listen()
    this.#timer ??= setTimeout(() => this.flush(), SAVE_EVERY_MS)
  }

  /** Saves every replay changed since its last save, now. */
  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    for (const [chatId, replay] of this.#unsaved) {
      const cursor = replay.cursor
      if (cursor === undefined) continue
      const saved: SavedReplay = { cursor, chunks: replay.chunks() }
      this.#attempt(() => this.#storage?.setItem(KEY_PREFIX + chatId, JSON.stringify(saved)))
    }
    this.#unsaved.clear()
  }

  /** Chat `chatId`'s response ended: nothing is left to resume from its cursor. */
  ended(chatId: string): void {
    this.#unsaved.delete(chatId)
    this.#attempt(() => this.#storage?.removeItem(KEY_PREFIX + chatId))
  }

  /** Saves what is unsaved when the page goes away (a reload runs no timer after it). */
  #listen(): void {
    if (this.#listening) return
    this.#listening = true
    globalThis.addEventListener?.("pagehide", () => this.flush())
  }

  #attempt<T>(action: () => T): T | undefined {
    try {
      return action()
    } catch {
      return undefined
    }
  }
}

/** The page's `sessionStorage` when there is one (a browser): it outlives a reload, per tab. */
export function defaultChatStorage(): ChatStorage | undefined {
  try {
    return (globalThis as { sessionStorage?: ChatStorage }).sessionStorage
  } catch {
    // A sandboxed frame throws on access.
    return undefined
  }
}
