import { RequestFieldError } from "./request-field-error.js"
import { isRecord } from "./sse-over-http.js"

/**
 * How many messages a request may send by default. Real chats and agent loops send hundreds at
 * most; an 8 MiB body of tiny messages is 240 000 of them, whose translation and kept prompt
 * would hold the event loop for seconds.
 */
export const DEFAULT_MAX_MESSAGES = 2_000

/**
 * The most content parts (OpenAI's content parts, Anthropic's blocks, a UI message's parts) all
 * the messages of one request may have together by default, with the other lists a request's
 * translation reads item by item (see {@link checkMessageBounds}): ten per message at the
 * default message count, and bounded alike whether a body has many messages or few long ones.
 * An agent transcript at the message bound counts about 11 per round of two messages (thinking,
 * text and three parallel tool calls; their results, each with its text block); translating
 * 20 000 items takes tens of milliseconds, not the seconds of an 8 MiB body of them.
 */
export const DEFAULT_MAX_CONTENT_PARTS = 20_000

/** The lists of a message the translation reads item by item, besides its content or parts. */
const MESSAGE_LISTS = ["content", "parts", "tool_calls", "thinking_blocks", "reasoning_details"] as const

/**
 * Refuses a create request's body with no message, more than `maxMessages` messages, or more than
 * `maxContentParts` content parts in all, with a {@link RequestFieldError} naming the
 * client's field (`messages`, or the list where the count passed the bound). Checked on the body
 * as parsed, before it is translated: the count costs one step per message and per item counted
 * (it stops at the bound), the translation far more. The three formats send `messages` at the top
 * level, and their parts as a message's `content` (OpenAI, Anthropic) or `parts` (the AI SDK);
 * anything else is left to the translation to refuse. Counted with the parts, as each is
 * translated item by item too: a message's `tool_calls`, `thinking_blocks` and
 * `reasoning_details` (OpenAI), a block's or part's own `content` (an Anthropic `tool_result`'s)
 * and `providerMetadata.openrouter.reasoning_details` (a UI message's reasoning part), and the
 * body's `system` blocks (Anthropic), `tools` (a list, or the AI SDK's object of them), `stop`
 * (a list, OpenAI) and `stop_sequences` (Anthropic), and the entries of its `logit_bias` and
 * `metadata` objects (OpenAI; Anthropic's metadata too, whose fields are checked one by one).
 * An object's entries are counted with `Object.keys`, which costs far less than their
 * translation but is not free: 60 to 220 ms for 600 000 keys.
 */
export function checkMessageBounds(body: unknown, maxMessages: number, maxContentParts: number): void {
  const messages = isRecord(body) ? body.messages : undefined
  if (!isRecord(body) || !Array.isArray(messages)) return
  // What every upstream refuses: nothing to answer.
  if (messages.length === 0) throw new RequestFieldError("messages", "at least one message is needed.")
  if (messages.length > maxMessages)
    throw new RequestFieldError(
      "messages",
      `at most ${maxMessages} messages may be sent in one request; this one has ${messages.length}.`,
    )
  let parts = 0
  /** Counts `list`'s items, when it is a list; `field` names it if they pass the bound. */
  const count = (list: unknown, field: string): list is unknown[] => {
    if (!Array.isArray(list)) return false
    parts += list.length
    if (parts > maxContentParts)
      throw new RequestFieldError(
        field,
        `at most ${maxContentParts} content parts may be sent in one request, in all its messages, ` +
          "their tool calls and thinking blocks, its system blocks, tools, stop sequences, " +
          "logit_bias and metadata entries.",
      )
    return true
  }
  /** Counts a list's items, or an object's entries; `field` names it if they pass the bound. */
  const countEntries = (value: unknown, field: string): void => {
    if (!count(value, field) && isRecord(value)) count(Object.keys(value), field)
  }
  count(body.system, "system")
  countEntries(body.tools, "tools")
  count(body.stop, "stop")
  count(body.stop_sequences, "stop_sequences")
  countEntries(body.logit_bias, "logit_bias")
  countEntries(body.metadata, "metadata")
  for (const [at, message] of messages.entries()) {
    if (!isRecord(message)) continue
    // `content` and `parts` both, whichever the format reads: a body may send one empty to slip the other past.
    for (const field of MESSAGE_LISTS) {
      const list = message[field]
      if (!count(list, `messages[${at}].${field}`) || (field !== "content" && field !== "parts")) continue
      // Their items were counted first: this reads no more of them than the bound.
      for (const [item, each] of list.entries()) {
        if (!isRecord(each)) continue
        const path = `messages[${at}].${field}[${item}]`
        count(each.content, `${path}.content`)
        const metadata = isRecord(each.providerMetadata) ? each.providerMetadata : {}
        const openrouter = isRecord(metadata.openrouter) ? metadata.openrouter : {}
        count(openrouter.reasoning_details, `${path}.providerMetadata.openrouter.reasoning_details`)
      }
    }
  }
}
