import type { Engine } from "../engine/engine.js"
import { START } from "../engine/position.js"
import type { NormalizedMessage, NormalizedRequest } from "./request.js"

/** A generation's prompt as kept: the system prompt and the messages; inline images are left out. */
export interface StoredPrompt {
  readonly system?: string
  readonly messages: readonly NormalizedMessage[]
  /** Its texts were cut to keep it within {@link MAX_STORED_PROMPT_CHARS}, each to a like share, ending in `…`. */
  readonly truncated?: true
}

/**
 * The most a kept prompt takes, in characters of JSON: a request body may be 8 MiB for its images
 * (kept as their media type only), and a subject may start many an hour; 8 MiB of text each would
 * fill the store.
 */
export const MAX_STORED_PROMPT_CHARS = 262_144

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
        messages: request.messages.map(keptMessage),
      }
      await engine.append(`${PROMPT_LOG_PREFIX}${id}`, [{ data: boundedJson(prompt) }], {
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

/**
 * `message` as kept: each `data:` image URL cut to its media type (`data:image/png;base64,…` →
 * `data:image/png`), and a tool result's text once (its blocks are the same text, apart).
 */
function keptMessage(message: NormalizedMessage): NormalizedMessage {
  if (message.role === "tool") {
    const { contentBlocks: _sameText, ...kept } = message
    return kept
  }
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

/**
 * `prompt` as JSON, at most {@link MAX_STORED_PROMPT_CHARS}: when longer, every text is cut to a
 * like share of its length, and when very many messages are too long even so, the latest that fit
 * are kept.
 */
function boundedJson(prompt: StoredPrompt): string {
  const whole = JSON.stringify(prompt)
  if (whole.length <= MAX_STORED_PROMPT_CHARS) return whole
  let share = MAX_STORED_PROMPT_CHARS / whole.length
  let cut: StoredPrompt = { ...prompt, truncated: true }
  // Escaping and structure do not shrink with the texts: a few rounds, each cutting deeper, for
  // as long as a round can cut deeper than the last. Texts cut to MIN_CUT_CHARS stay there, so a
  // prompt of short texts (many tiny messages) goes straight to dropping messages, and no round
  // is sized unless it cut something.
  let deeper = true
  for (let round = 0; round < 4 && deeper; round++, share /= 2) {
    const keep = share * 0.9
    let cutSome = false
    deeper = false
    const texts = mapTexts(prompt, (text) => {
      const length = Math.floor(text.length * keep)
      if (length > MIN_CUT_CHARS) deeper = true
      const short = shortened(text, length)
      if (short.length < text.length) cutSome = true
      return short
    })
    if (!cutSome) break
    cut = { ...texts, truncated: true }
    const json = JSON.stringify(cut)
    if (json.length <= MAX_STORED_PROMPT_CHARS) return json
  }
  const room = MAX_STORED_PROMPT_CHARS - JSON.stringify({ ...cut, messages: [] }).length
  let used = 0
  let from = cut.messages.length
  while (from > 0) {
    const size = JSON.stringify(cut.messages[from - 1]).length + 1
    if (used + size > room) break
    used += size
    from--
  }
  return JSON.stringify({ ...cut, messages: cut.messages.slice(from) })
}

/** `prompt` with `change` applied to every text in it: the system prompt, text parts, tool arguments and results. */
function mapTexts(prompt: StoredPrompt, change: (text: string) => string): StoredPrompt {
  const messages = prompt.messages.map((message): NormalizedMessage => {
    if (message.role === "tool") return { ...message, content: change(message.content) }
    if (message.role === "user") {
      return {
        ...message,
        content: message.content.map((part) =>
          part.type === "text" ? { ...part, text: change(part.text) } : part,
        ),
      }
    }
    return {
      ...message,
      content: message.content.map((part) => {
        if (part.type === "text" || part.type === "reasoning") return { ...part, text: change(part.text) }
        return part.type === "tool-call" ? { ...part, arguments: change(part.arguments) } : part
      }),
    }
  })
  return { ...(prompt.system === undefined ? {} : { system: change(prompt.system) }), messages }
}

/** Texts this short are kept whole: cutting them saves little and leaves nothing to read. */
const MIN_CUT_CHARS = 32

/** `text` cut to `length` characters (never below {@link MIN_CUT_CHARS}) and `…`, or whole when that is no shorter. */
function shortened(text: string, length: number): string {
  const keep = Math.max(MIN_CUT_CHARS, length)
  return keep >= text.length ? text : `${text.slice(0, keep)}…`
}
