import { type Entry, type FinishEntry, laterUsage, type UsageEntry } from "./entries.js"
import { addReasoningDetail } from "./reasoning-details.js"
import { completedUsage, type EndEntry, type StoredEntry } from "./stored-entry.js"

/** A tool call of a finished answer, its arguments whole. */
export interface AnswerToolCall {
  readonly id: string
  readonly name: string
  arguments: string
  /** Gemini's thought signature of the call (thought-signature.ts). */
  thoughtSignature?: string
}

/** A content block of an answer, in order: what a non-streaming response lists. */
export type AnswerBlock =
  | { readonly type: "text"; text: string }
  | { readonly type: "refusal"; text: string }
  | { readonly type: "thinking"; thinking: string; signature: string }
  | { readonly type: "redacted_thinking"; readonly data: string }
  | ({ readonly type: "tool_call" } & AnswerToolCall)

/** A whole generation folded for a non-streaming response. */
export interface Answer {
  readonly blocks: readonly AnswerBlock[]
  /** OpenRouter's reasoning details of the answer (reasoning-details.ts). */
  readonly reasoningDetails: readonly Record<string, unknown>[]
  readonly finish: FinishEntry | undefined
  /** The last usage, its counts completed from the end's when the provider sent none. */
  readonly usage: UsageEntry
  /** The upstream's error entry, if it sent one. */
  readonly error: (StoredEntry & { type: "error" }) | undefined
  readonly end: EndEntry | undefined
}

/** A reasoning entry, as {@link addReasoning} takes it. */
export type ReasoningEntry = Extract<
  Entry,
  { type: "reasoning-delta" | "reasoning-signature" | "reasoning-redacted" }
>

/**
 * Adds a reasoning entry to an answer's `blocks`, the last of which is the answer's latest block:
 * reasoning goes on its thinking block until a signature closes it (each block is signed on its
 * own), a signature on the open one; encrypted reasoning is a block of its own. A signature comes
 * whole, so one after a signed block is another block's, one with no text (Claude's thinking with
 * `display: "omitted"`, two such blocks with only a server tool's between them).
 */
export function addReasoning(blocks: AnswerBlock[], entry: ReasoningEntry): void {
  const last = blocks.at(-1)
  if (entry.type === "reasoning-redacted") blocks.push({ type: "redacted_thinking", data: entry.data })
  else if (entry.type === "reasoning-signature") {
    if (last?.type === "thinking" && last.signature === "") last.signature = entry.signature
    else blocks.push({ type: "thinking", thinking: "", signature: entry.signature })
  } else if (last?.type === "thinking" && last.signature === "") last.thinking += entry.text
  else blocks.push({ type: "thinking", thinking: entry.text, signature: "" })
}

/** Claude's signed and encrypted thinking among `blocks`: what a client sends back with the turn. */
export function signedThinking(blocks: readonly AnswerBlock[]): AnswerBlock[] {
  return blocks.filter(
    (block) => block.type === "redacted_thinking" || (block.type === "thinking" && block.signature !== ""),
  )
}

/** Folds a generation's entries into its answer: deltas joined into blocks, the last usage, the end. */
export function foldAnswer(entries: Iterable<StoredEntry>): Answer {
  const blocks: AnswerBlock[] = []
  const calls = new Map<number, AnswerToolCall>()
  const reasoningDetails: Record<string, unknown>[] = []
  let finish: FinishEntry | undefined
  let usage: UsageEntry | undefined
  let error: Answer["error"]
  let end: EndEntry | undefined
  for (const entry of entries) {
    const last = blocks.at(-1)
    switch (entry.type) {
      case "text-delta":
        if (last?.type === "text") last.text += entry.text
        else blocks.push({ type: "text", text: entry.text })
        break
      case "refusal-delta":
        if (last?.type === "refusal") last.text += entry.text
        else blocks.push({ type: "refusal", text: entry.text })
        break
      case "reasoning-delta":
      case "reasoning-signature":
      case "reasoning-redacted":
        addReasoning(blocks, entry)
        break
      case "tool-call-start": {
        const call: AnswerBlock & { type: "tool_call" } = {
          type: "tool_call",
          id: entry.id,
          name: entry.name,
          arguments: "",
          ...(entry.thoughtSignature !== undefined && { thoughtSignature: entry.thoughtSignature }),
        }
        calls.set(entry.index, call)
        blocks.push(call)
        break
      }
      case "tool-call-end": {
        const call = calls.get(entry.index)
        if (call !== undefined) call.arguments = entry.arguments
        if (call !== undefined && entry.thoughtSignature !== undefined)
          call.thoughtSignature = entry.thoughtSignature
        break
      }
      case "reasoning-details":
        for (const detail of entry.details) addReasoningDetail(reasoningDetails, detail)
        break
      case "usage":
        usage = laterUsage(usage, entry)
        break
      case "finish":
        finish = entry
        break
      case "error":
        error = entry
        break
      case "end":
        end = entry
        break
      default:
        // Tool-call deltas are summed up by their end; citations are not kept in a whole answer.
        break
    }
  }
  return {
    blocks,
    reasoningDetails,
    finish,
    usage: completedUsage(usage, end?.stats.usage),
    error,
    end,
  }
}
