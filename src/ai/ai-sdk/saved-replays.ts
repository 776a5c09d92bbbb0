import { asSchema, type UIMessageChunk, uiMessageChunkSchema } from "ai"
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
/** A chat's pending stop (see {@link SavedReplays.stopPending}): apart from the replays' keys. */
const STOP_PREFIX = "herald.chat-stop."

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

  /**
   * Chat `chatId`'s saved replay, if there is one and it reads back as one: a cursor, and UI
   * message chunks (checked as the ones from the network are) from a `start`. Anything else (a
   * save of an older `ai`, another script's key) is removed, and the chat resumes from the start.
   */
  async load(chatId: string): Promise<MessageReplay | undefined> {
    const text = this.#attempt(() => this.#storage?.getItem(KEY_PREFIX + chatId))
    if (typeof text !== "string") return undefined
    const restored = await restore(text)
    if (restored === undefined) this.ended(chatId)
    return restored
  }

  /** `replay` of chat `chatId` took a chunk: saved within {@link SAVE_EVERY_MS}. */
  changed(chatId: string, replay: MessageReplay): void {
    if (this.#storage === undefined) return
    this.#unsaved.set(chatId, replay)
    this.#listen(true)
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
    this.#listen(false)
  }

  /** Chat `chatId` has nothing to resume from its cursor: its answer ended, or was stopped. */
  ended(chatId: string): void {
    this.#unsaved.delete(chatId)
    this.#attempt(() => this.#storage?.removeItem(KEY_PREFIX + chatId))
  }

  /**
   * Chat `chatId` was stopped before its answer's head named the generation, and the cancel waits
   * for that head: kept at once, so that a page reloaded meanwhile sends it on its resume.
   */
  stopPending(chatId: string): void {
    this.#attempt(() => this.#storage?.setItem(STOP_PREFIX + chatId, "1"))
  }

  /** Whether chat `chatId` has a pending stop to send. */
  stopIsPending(chatId: string): boolean {
    return this.#attempt(() => this.#storage?.getItem(STOP_PREFIX + chatId)) != null
  }

  /** Chat `chatId`'s pending stop was sent (or is not the chat's to send any more). */
  stopSent(chatId: string): void {
    this.#attempt(() => this.#storage?.removeItem(STOP_PREFIX + chatId))
  }

  /**
   * Saves what is unsaved when the page goes away (a reload runs no timer after it). Listening
   * only while something is unsaved, so the page does not hold this transport for good.
   */
  readonly #onPageHide = (): void => this.flush()
  #listen(on: boolean): void {
    if (this.#listening === on) return
    this.#listening = on
    if (on) globalThis.addEventListener?.("pagehide", this.#onPageHide)
    else globalThis.removeEventListener?.("pagehide", this.#onPageHide)
  }

  #attempt<T>(action: () => T): T | undefined {
    try {
      return action()
    } catch {
      return undefined
    }
  }
}

const chunkSchema = asSchema(uiMessageChunkSchema)

/** `text` as a saved replay, or `undefined` when it does not read back as one. */
async function restore(text: string): Promise<MessageReplay | undefined> {
  let saved: Partial<SavedReplay>
  try {
    saved = JSON.parse(text) as Partial<SavedReplay>
  } catch {
    return undefined
  }
  if (typeof saved !== "object" || saved === null) return undefined
  const { cursor, chunks } = saved
  if (typeof cursor !== "string" || !Array.isArray(chunks) || chunks.length === 0) return undefined
  const checked: UIMessageChunk[] = []
  for (const chunk of chunks as unknown[]) {
    const validation = await chunkSchema.validate?.(chunk)
    if (validation !== undefined && !validation.success) return undefined
    checked.push((validation === undefined ? chunk : validation.value) as UIMessageChunk)
  }
  if (checked[0]?.type !== "start") return undefined
  return MessageReplay.restore(cursor, checked)
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
