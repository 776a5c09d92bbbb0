import type { ReasoningDeltaEntry, ReasoningRedactedEntry, ReasoningSignatureEntry } from "./entries.js"
import type { AssistantMessage, ReasoningPart, RedactedReasoningPart } from "./request.js"
import { array, object } from "./request-fields.js"

/**
 * OpenRouter's `reasoning_details`: the reasoning of the model behind it as items, some signed or
 * encrypted (Claude's thinking signature, Gemini 3's thought signatures, OpenAI's encrypted
 * reasoning), which OpenRouter wants back unmodified with the turn (Gemini 3 refuses a tool turn
 * without them). A stream sends them in fragments: `reasoning.text` and `reasoning.summary`
 * pieces to join in order (the signature a fragment of its own at the end), encrypted items
 * whole. `index` alone does not tell items apart (a summary and an encrypted item may share 0).
 *
 * Claude's items (format `anthropic-claude-v1`) are Claude's thinking blocks under another name:
 * a `reasoning.text` item with its signature is a signed `thinking` block, a `reasoning.encrypted`
 * item a `redacted_thinking` block. Herald reads them as such too, so that Claude's thinking
 * through OpenRouter reaches Anthropic clients signed, and goes back to Claude whichever way
 * (OpenRouter or Anthropic) the next turn takes. Gemini's encrypted item named after a tool call
 * (format `google-gemini-v1`) is that call's thought signature (thought-signature.ts), and is read
 * as such too.
 */

/** One item of `reasoning_details`, as the upstream sent it. */
export type ReasoningDetail = Record<string, unknown>

/** The `reasoning_details` a client sends back at `path`: a list of objects, kept as they came (none when absent). */
export function sentBackDetails(value: unknown, path: string): ReasoningDetail[] {
  if (value === undefined || value === null) return []
  return array(value, path).map((item, at) => ({ ...object(item, `${path}[${at}]`) }))
}

/** The field a joinable item's fragments add to. */
const JOINED: ReadonlyMap<unknown, string> = new Map([
  ["reasoning.text", "text"],
  ["reasoning.summary", "summary"],
])

/**
 * Adds a streamed fragment to the `details` so far: a text or summary fragment of the same item
 * as the last one (same type and index) joins it, its other fields (signature, format, id) filling
 * what the item lacks; anything else is a new item, and so is text after a signed item (its
 * signature closed it). The same rule joins what several entries or parts hold, so fragments that
 * came apart come together again.
 */
export function addReasoningDetail(details: ReasoningDetail[], fragment: ReasoningDetail): void {
  const last = details.at(-1)
  const field = JOINED.get(fragment.type)
  const closed = given(last?.signature) && given(field === undefined ? undefined : fragment[field])
  if (
    field === undefined ||
    last === undefined ||
    last.type !== fragment.type ||
    last.index !== fragment.index ||
    closed
  ) {
    details.push({ ...fragment })
    return
  }
  for (const [key, value] of Object.entries(fragment)) {
    if (key === field) {
      if (typeof value === "string") last[key] = (typeof last[key] === "string" ? last[key] : "") + value
    } else if (given(value) && !given(last[key])) {
      last[key] = value
    }
  }
}

/**
 * The details an assistant turn carries, joined by {@link addReasoningDetail}: a stream's late
 * fragments reach a client as a second list.
 */
export function turnSentDetails(message: AssistantMessage): ReasoningDetail[] {
  const details: ReasoningDetail[] = []
  for (const part of message.content)
    if (part.type === "reasoning-details") for (const item of part.details) addReasoningDetail(details, item)
  return details
}

/** A field that says something: not absent, null or empty. */
function given(value: unknown): boolean {
  return value !== undefined && value !== null && value !== ""
}

/** The format OpenRouter names Claude's reasoning by. */
const CLAUDE_FORMAT = "anthropic-claude-v1"

function isClaudeItem(detail: ReasoningDetail): boolean {
  return detail.format === CLAUDE_FORMAT
}

/** A field that holds a string with something in it. */
function filled(value: unknown): value is string {
  return typeof value === "string" && value !== ""
}

/**
 * What a streamed fragment of Claude's says in Claude's own terms, in order: its piece of a
 * thinking block's text, the signature that closes the block, or an encrypted block.
 */
export function claudeReasoningEntries(
  fragment: ReasoningDetail,
): (ReasoningDeltaEntry | ReasoningSignatureEntry | ReasoningRedactedEntry)[] {
  if (!isClaudeItem(fragment)) return []
  if (fragment.type === "reasoning.encrypted")
    return filled(fragment.data) ? [{ type: "reasoning-redacted", data: fragment.data }] : []
  if (fragment.type !== "reasoning.text") return []
  return [
    ...(filled(fragment.text) ? [{ type: "reasoning-delta" as const, text: fragment.text }] : []),
    ...(filled(fragment.signature)
      ? [{ type: "reasoning-signature" as const, signature: fragment.signature }]
      : []),
  ]
}

/** Whether `fragment` carries a piece of Claude's thinking text. */
export function isClaudeText(fragment: ReasoningDetail): boolean {
  return isClaudeItem(fragment) && fragment.type === "reasoning.text" && filled(fragment.text)
}

/** Claude's signed and encrypted thinking among `details`, as the parts Claude takes back. */
export function claudeThinkingParts(
  details: readonly ReasoningDetail[],
): (ReasoningPart | RedactedReasoningPart)[] {
  return details.flatMap((detail): (ReasoningPart | RedactedReasoningPart)[] => {
    if (!isClaudeItem(detail)) return []
    if (detail.type === "reasoning.encrypted" && filled(detail.data))
      return [{ type: "redacted-reasoning", data: detail.data }]
    if (detail.type === "reasoning.text" && filled(detail.signature))
      return [
        {
          type: "reasoning",
          text: typeof detail.text === "string" ? detail.text : "",
          signature: detail.signature,
        },
      ]
    return []
  })
}

/** The format OpenRouter names Gemini's reasoning by. */
const GEMINI_FORMAT = "google-gemini-v1"

/** The thought signature of the call `callId` among `details`: Gemini's encrypted item named after it. */
export function geminiSignatureOf(details: readonly ReasoningDetail[], callId: string): string | undefined {
  const item = details.find(
    (detail) =>
      detail.format === GEMINI_FORMAT && detail.type === "reasoning.encrypted" && detail.id === callId,
  )
  return filled(item?.data) ? item.data : undefined
}

/**
 * An assistant turn's signed reasoning as OpenRouter's items, in the turn's order and numbered
 * together: Claude's signed and encrypted thinking, and its tool calls' thought signatures as
 * Gemini's items.
 */
export function turnDetails(message: AssistantMessage): ReasoningDetail[] {
  return message.content
    .flatMap((part): ReasoningDetail[] => {
      if (part.type === "redacted-reasoning")
        return [{ type: "reasoning.encrypted", data: part.data, format: CLAUDE_FORMAT }]
      if (part.type === "reasoning" && part.signature !== undefined)
        return [{ type: "reasoning.text", text: part.text, signature: part.signature, format: CLAUDE_FORMAT }]
      if (part.type === "tool-call" && part.thoughtSignature !== undefined)
        return [
          { type: "reasoning.encrypted", data: part.thoughtSignature, id: part.id, format: GEMINI_FORMAT },
        ]
      return []
    })
    .map((item, index) => ({ ...item, index }))
}
