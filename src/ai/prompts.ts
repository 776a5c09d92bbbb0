import type { Engine } from "../engine/engine.js"
import { START } from "../engine/position.js"
import type { NormalizedMessage, NormalizedRequest } from "./request.js"

/** A generation's prompt as kept: the system prompt and the messages; inline images are left out. */
export interface StoredPrompt {
  readonly system?: string
  readonly messages: readonly NormalizedMessage[]
}

/** Where the prompts of generations are kept, apart from their answers. */
export interface Prompts {
  /** Keeps generation `id`'s prompt (nothing when prompts are not stored). */
  store(id: string, request: NormalizedRequest): Promise<void>
  /** Generation `id`'s prompt, if it was stored and is still kept. */
  read(id: string): Promise<StoredPrompt | undefined>
}

const PROMPT_LOG_PREFIX = "ai/prompt/"

/** The prompts not stored at all (`storePrompts: false`). */
export const UNSTORED_PROMPTS: Prompts = {
  store: async () => {},
  read: async () => undefined,
}

/**
 * Prompts kept in a log of their own per generation (`ai/prompt/{id}`, one entry, closed), so the
 * answer's log — read on every resume — does not carry them. Kept `ttlMs` after they were last
 * written or read. An image given inline (`data:`) is kept as its media type only.
 */
export function createPrompts(engine: Engine, ttlMs: number): Prompts {
  return {
    async store(id, request) {
      const prompt: StoredPrompt = {
        ...(request.system === undefined ? {} : { system: request.system }),
        messages: request.messages.map(withoutInlineImages),
      }
      await engine.append(`${PROMPT_LOG_PREFIX}${id}`, [{ data: JSON.stringify(prompt) }], {
        create: { ttlMs, retention: { maxEntries: 1, maxAgeMs: ttlMs } },
        close: true,
      })
    },
    async read(id) {
      const read = await engine.read(`${PROMPT_LOG_PREFIX}${id}`, START, 1)
      const entry = read.held ? read.entries[0] : undefined
      return entry === undefined ? undefined : (JSON.parse(entry.data) as StoredPrompt)
    },
  }
}

/** `message` with each `data:` image URL cut to its media type: `data:image/png;base64,…` → `data:image/png`. */
function withoutInlineImages(message: NormalizedMessage): NormalizedMessage {
  if (message.role !== "user") return message
  return {
    ...message,
    content: message.content.map((part) =>
      part.type === "image" && part.url.startsWith("data:")
        ? { ...part, url: part.url.slice(0, Math.max(5, part.url.search(/[;,]/))) }
        : part,
    ),
  }
}
