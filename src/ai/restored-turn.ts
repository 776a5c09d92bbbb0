import { DEFAULT_JSON_TEXT_BOUNDS, textPassesBound } from "../auth/json-depth.js"
import type { Answer } from "./answer.js"
import type { Entry } from "./entries.js"
import type {
  AssistantMessage,
  NormalizedMessage,
  ReasoningDetailsPart,
  ReasoningPart,
  RedactedReasoningPart,
  ToolCallPart,
} from "./request.js"

/**
 * A tool turn's reasoning that a client dropped, put back from the answer that made the turn.
 *
 * A thinking model refuses a tool turn without what it gave with the calls: Claude its signed
 * thinking ("a final `assistant` message must start with a thinking block"), Gemini 3 each call's
 * thought signature, OpenRouter the encrypted `reasoning_details`. Clients that keep only a
 * turn's text and calls (LangChain, apps that store plain messages) send the turn back without
 * them. The SDKs that keep them send back what the answer gave; a restored turn carries the same.
 */

/** Whether an entry is something the model needs back with the turn (signed, encrypted, a call's signature). */
export function goesBackWithTurn(entry: Entry): boolean {
  switch (entry.type) {
    case "reasoning-signature":
    case "reasoning-redacted":
    case "reasoning-details":
      return true
    case "tool-call-start":
    case "tool-call-end":
      return entry.thoughtSignature !== undefined
    default:
      return false
  }
}

/** Most bare turns restored in one request (the latest): each costs reads of the store. */
export const MAX_RESTORED_TURNS = 32

/**
 * The indexes of the assistant turns a model checks and the client sent bare: those with tool
 * calls in the tool loop under way (since the last user message that does not ride along with
 * tool results, as text beside them does; a model validates that loop's turns, not older ones),
 * with neither signed nor encrypted reasoning, nor details, nor a signed call — a client that
 * kept any of them is trusted to have kept what it needs. At most {@link MAX_RESTORED_TURNS}:
 * the loop's first (where Claude looks for its thinking) and the latest.
 */
export function bareToolTurns(messages: readonly NormalizedMessage[]): number[] {
  const bare: number[] = []
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]
    if (message?.role === "user" && !ridesWithToolResults(messages, i)) break
    if (message?.role !== "assistant") continue
    const hasCall = message.content.some((part) => part.type === "tool-call")
    const kept = message.content.some(
      (part) =>
        (part.type === "reasoning" && part.signature !== undefined && part.signature !== "") ||
        part.type === "redacted-reasoning" ||
        part.type === "reasoning-details" ||
        (part.type === "tool-call" && part.thoughtSignature !== undefined),
    )
    if (hasCall && !kept) bare.unshift(i)
  }
  return bare.length <= MAX_RESTORED_TURNS ? bare : [bare[0] as number, ...bare.slice(1 - MAX_RESTORED_TURNS)]
}

/** Whether user message `at` follows tool results, with only user messages between: it goes with them. */
function ridesWithToolResults(messages: readonly NormalizedMessage[], at: number): boolean {
  let i = at - 1
  while (messages[i]?.role === "user") i--
  return messages[i]?.role === "tool"
}

/** The first tool call's id of a turn: the name its answer was recorded under. */
export function firstCallId(turn: AssistantMessage): string | undefined {
  return turn.content.find((part): part is ToolCallPart => part.type === "tool-call")?.id
}

/**
 * `turn` with what `answer` gave to go back with it, or `undefined` when the answer is not the
 * one that made the turn (not the same calls: ids, names and arguments) or gave nothing to go
 * back. Signed and encrypted thinking that came before the first call opens the turn, as Claude
 * wants it; what came after a call follows that call (interleaved thinking). The client's
 * unsigned reasoning, the same text unsigned, gives way to it. Details go first; each call takes
 * its thought signature.
 */
export function restoredTurn(turn: AssistantMessage, answer: Answer): AssistantMessage | undefined {
  const answered = new Map<string, Extract<Answer["blocks"][number], { type: "tool_call" }>>()
  for (const block of answer.blocks) if (block.type === "tool_call") answered.set(block.id, block)
  const calls = turn.content.filter((part): part is ToolCallPart => part.type === "tool-call")
  if (calls.length !== answered.size || new Set(calls.map((call) => call.id)).size !== calls.length)
    return undefined
  // The values of the arguments parsed to compare them, the turn's calls' together.
  const argumentValues = { values: 0 }
  for (const call of calls) {
    const made = answered.get(call.id)
    if (
      made === undefined ||
      made.name !== call.name ||
      !sameArguments(made.arguments, call.arguments, argumentValues)
    )
      return undefined
  }
  // The reasoning to go back, by the call it followed ("" for none: before every call).
  const after = new Map<string, (ReasoningPart | RedactedReasoningPart)[]>()
  let anchor = ""
  let thinking = 0
  for (const block of answer.blocks) {
    let part: ReasoningPart | RedactedReasoningPart | undefined
    if (block.type === "tool_call") anchor = block.id
    else if (block.type === "redacted_thinking") part = { type: "redacted-reasoning", data: block.data }
    else if (block.type === "thinking" && block.signature !== "")
      part = { type: "reasoning", text: block.thinking, signature: block.signature }
    if (part === undefined) continue
    thinking++
    after.set(anchor, [...(after.get(anchor) ?? []), part])
  }
  const details: ReasoningDetailsPart[] =
    answer.reasoningDetails.length > 0
      ? [{ type: "reasoning-details", details: [...answer.reasoningDetails] }]
      : []
  const signed = calls.filter((call) => answered.get(call.id)?.thoughtSignature !== undefined).length
  if (thinking === 0 && details.length === 0 && signed === 0) return undefined
  const content: AssistantMessage["content"] = [...details, ...(after.get("") ?? [])]
  for (const part of turn.content) {
    if (part.type === "reasoning" && thinking > 0) continue
    if (part.type !== "tool-call") {
      content.push(part)
      continue
    }
    const signature = answered.get(part.id)?.thoughtSignature
    content.push(signature === undefined ? part : { ...part, thoughtSignature: signature })
    content.push(...(after.get(part.id) ?? []))
  }
  return { ...turn, content }
}

/**
 * Whether two calls' arguments say the same: equal JSON once parsed (a client may re-serialize
 * them), else equal text. Arguments past the bounds on a client's JSON are not parsed (a parse of
 * them would hold the event loop), and not the same; `argumentValues` counts the values of the
 * arguments compared so far, which share one bound.
 */
function sameArguments(a: string, b: string, argumentValues: { values: number }): boolean {
  if (a === b) return true
  const bounds = DEFAULT_JSON_TEXT_BOUNDS
  if (textPassesBound(a, bounds, argumentValues) !== undefined) return false
  if (textPassesBound(b, bounds, argumentValues) !== undefined) return false
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b))
  } catch {
    return false
  }
}
