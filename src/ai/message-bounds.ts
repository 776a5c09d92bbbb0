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
 * the messages of one request may have together by default: five per message at the default
 * message count, and bounded alike whether a body has many messages or few long ones.
 */
export const DEFAULT_MAX_CONTENT_PARTS = 10_000

/**
 * Refuses a create request's body with no message, more than `maxMessages` messages, or more than
 * `maxContentParts` content parts in all, with a {@link RequestFieldError} naming the
 * client's field (`messages`, or the `content` or `parts` of the message where the count passed
 * the bound). Checked on the body as parsed, before it is translated: the count costs one step
 * per message, the translation far more. The three formats send `messages` at the top level, and
 * their parts as a message's `content` (OpenAI, Anthropic) or `parts` (the AI SDK); anything else
 * is left to the translation to refuse.
 */
export function checkMessageBounds(body: unknown, maxMessages: number, maxContentParts: number): void {
  const messages = isRecord(body) ? body.messages : undefined
  if (!Array.isArray(messages)) return
  // What every upstream refuses: nothing to answer.
  if (messages.length === 0) throw new RequestFieldError("messages", "at least one message is needed.")
  if (messages.length > maxMessages)
    throw new RequestFieldError(
      "messages",
      `at most ${maxMessages} messages may be sent in one request; this one has ${messages.length}.`,
    )
  let parts = 0
  for (const [at, message] of messages.entries()) {
    if (!isRecord(message)) continue
    // Both, whichever the format reads: a body may send one empty to slip the other past.
    for (const field of ["content", "parts"] as const) {
      const list = message[field]
      if (!Array.isArray(list)) continue
      parts += list.length
      if (parts > maxContentParts)
        throw new RequestFieldError(
          `messages[${at}].${field}`,
          `at most ${maxContentParts} content parts may be sent in one request, in all its messages.`,
        )
    }
  }
}
