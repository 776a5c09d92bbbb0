import { anthropicFinish } from "./anthropic-stop-reasons.js"
import {
  type Entry,
  type FinishEntry,
  type FinishReason,
  laterUsage,
  type ToolCallStartEntry,
  type UsageEntry,
} from "./entries.js"
import { END_ERROR_TYPE, type EndEntry, type StoredEntry } from "./stored-entry.js"
import { idWithSignature } from "./thought-signature.js"
import { type InputScan, inputEnd, newInputScan, scanInput } from "./tool-input.js"
import type { View, ViewContext, ViewEvent } from "./view.js"

/** Anthropic's `stop_reason` for each of Herald's finish reasons, when the upstream spoke another format. */
const STOP_REASON: Record<FinishReason, string> = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  content_filter: "refusal",
  pause: "pause_turn",
  other: "end_turn",
}

/**
 * The input counts of Messages' usage: `input_tokens` is only what neither read nor wrote the
 * prompt cache; those two are counted apart, as Anthropic bills them. Nothing for an unknown count.
 */
export function anthropicInputUsage(usage: UsageEntry | undefined): Record<string, number> {
  if (usage === undefined) return {}
  const read = usage.cacheReadTokens
  const written = usage.cacheWriteTokens
  return {
    ...(usage.inputTokens !== undefined && {
      input_tokens: Math.max(0, usage.inputTokens - (read ?? 0) - (written ?? 0)),
    }),
    ...(written !== undefined && { cache_creation_input_tokens: written }),
    ...(read !== undefined && { cache_read_input_tokens: read }),
  }
}

/**
 * The stop reason of `finish` in Anthropic's words: the upstream's own when it is Anthropic's and
 * still the finish. An answer that `refused` (a Chat Completions refusal, which OpenAI ends with
 * `stop`) stopped for its refusal: Messages has no refusal text, only this reason to tell it.
 */
export function anthropicStopReason(finish: FinishEntry, refused = false): string {
  if (anthropicFinish(finish.rawReason) === finish.reason) return finish.rawReason
  if (finish.reason === "stop" && finish.stopSequence !== undefined) return "stop_sequence"
  if (finish.reason === "stop" && refused) return STOP_REASON.content_filter
  return STOP_REASON[finish.reason]
}

/** What cannot go in the middle of an open tool call's block, and cannot cut it either (a block cannot be reopened). */
const HELD_FOR_A_TOOL_BLOCK = new Set<Entry["type"]>([
  "text-delta",
  "refusal-delta",
  "reasoning-delta",
  "reasoning-signature",
  "reasoning-redacted",
  "citation",
])

/**
 * The kind of content block open: text, thinking (`signed` once its signature came: more
 * reasoning, or another signature, then is another block), or tool call `index`.
 */
type OpenBlock =
  | { readonly kind: "text" }
  | { readonly kind: "thinking"; signed: boolean }
  | {
      readonly kind: "tool"
      readonly index: number
      /** Its arguments read so far, as Messages' object input. */
      readonly input: InputScan
    }

/**
 * A generation as Anthropic Messages events, as `@anthropic-ai/sdk` reads them: `message_start`
 * (with the input tokens when they are known first), a `ping`, content blocks opened whenever
 * the kind of entry changes (text, thinking, a tool call by index) and closed before the next,
 * then `message_delta`. A block cannot be reopened, so a tool call that starts while another
 * one's block is open (an OpenAI upstream may interleave parallel calls) is sent whole, as one
 * block, at its end — or after that block, when it ends first (an Anthropic upstream's blocks may
 * overlap) — and text or reasoning that comes while a tool call's block is open follows that
 * block; then `message_delta` (stop reason, cumulative output tokens) and `message_stop`. Failures,
 * cancels and interruptions are `event: error`.
 */
export function anthropicView(context: ViewContext): View {
  const { id, meta } = context
  let started = false
  let open: OpenBlock | undefined
  let nextIndex = 0
  let finish: FinishEntry | undefined
  let usage: UsageEntry | undefined
  let errorSent = false
  /** Whether the answer holds a refusal, which its stop reason tells. */
  let refused = false
  /** Tool calls started while another one's block was open: sent whole at their end, or after that block. */
  const waiting = new Map<number, ToolCallStartEntry>()
  /**
   * Text, reasoning, citations and the ends of waiting calls that came while a tool call's block
   * was open: sent after it, in the order they came. A waiting call's end carries its whole
   * arguments, so the view holds none of its deltas.
   */
  const held: Entry[] = []

  const event = (type: string, fields: Record<string, unknown> = {}): ViewEvent => ({
    event: type,
    data: JSON.stringify({ type, ...fields }),
  })
  /** Closes the open block; a tool call's input first gets what makes it one JSON object. */
  const close = (): ViewEvent[] => {
    if (open === undefined) return []
    const rest = open.kind === "tool" ? inputEnd(open.input) : ""
    open = undefined
    const stop = event("content_block_stop", { index: nextIndex - 1 })
    return rest === "" ? [stop] : [delta({ type: "input_json_delta", partial_json: rest }), stop]
  }
  const openBlock = (block: OpenBlock, contentBlock: Record<string, unknown>): ViewEvent[] => {
    const events = close()
    open = block
    events.push(event("content_block_start", { index: nextIndex, content_block: contentBlock }))
    nextIndex++
    return events
  }
  const delta = (value: Record<string, unknown>): ViewEvent =>
    event("content_block_delta", { index: nextIndex - 1, delta: value })
  const ensureText = (): ViewEvent[] =>
    open?.kind === "text" ? [] : openBlock({ kind: "text" }, { type: "text", text: "" })
  /** An open thinking block not yet signed: a new one if the open one is signed already. */
  const ensureThinking = (): ViewEvent[] =>
    open?.kind === "thinking" && !open.signed
      ? []
      : openBlock({ kind: "thinking", signed: false }, { type: "thinking", thinking: "" })
  const toolUse = (id: string, name: string) => ({ type: "tool_use", id, name, input: {} })

  /** Closes the open block, then sends what was held for after it. */
  const closeAndRelease = (): ViewEvent[] => [
    ...close(),
    ...held.splice(0).flatMap((entry) => content(entry)),
  ]

  /**
   * Whether `entry` belongs to another block than the open tool call's (text, reasoning, or the
   * end of a waiting call, which sends that call whole): it waits for the open block's end.
   */
  const waitsForToolBlock = (entry: Entry): boolean =>
    open?.kind === "tool" &&
    (HELD_FOR_A_TOOL_BLOCK.has(entry.type) || (entry.type === "tool-call-end" && entry.index !== open.index))

  const content = (entry: Entry): ViewEvent[] => {
    if (waitsForToolBlock(entry)) {
      held.push(entry)
      return []
    }
    switch (entry.type) {
      case "refusal-delta":
        // Messages has no refusal text of its own: it is text, and the stop reason says `refusal`.
        refused = true
        return [...ensureText(), delta({ type: "text_delta", text: entry.text })]
      case "text-delta":
        return [...ensureText(), delta({ type: "text_delta", text: entry.text })]
      case "reasoning-delta":
        return [...ensureThinking(), delta({ type: "thinking_delta", thinking: entry.text })]
      case "reasoning-signature": {
        // A signature comes whole: one after a signed block is the next block's (a block with no
        // text, as Claude's omitted thinking), which the SDK would otherwise keep in place of the first.
        const events = ensureThinking()
        if (open?.kind === "thinking") open.signed = true
        return [...events, delta({ type: "signature_delta", signature: entry.signature })]
      }
      case "reasoning-redacted":
        return [
          ...openBlock({ kind: "thinking", signed: true }, { type: "redacted_thinking", data: entry.data }),
          ...close(),
        ]
      case "citation":
        return [...ensureText(), delta({ type: "citations_delta", citation: entry.citation })]
      case "tool-call-start":
        if (open?.kind === "tool") {
          waiting.set(entry.index, entry)
          return []
        }
        return openBlock(
          { kind: "tool", index: entry.index, input: newInputScan() },
          toolUse(idWithSignature(entry.id, entry.thoughtSignature), entry.name),
        )
      case "tool-call-delta": {
        // A fragment of a waiting call comes whole with its end.
        if (open?.kind !== "tool" || open.index !== entry.index) return []
        const part = scanInput(open.input, entry.arguments)
        return part === "" ? [] : [delta({ type: "input_json_delta", partial_json: part })]
      }
      case "tool-call-end": {
        if (open?.kind === "tool" && open.index === entry.index) return closeAndRelease()
        const call = waiting.get(entry.index)
        if (call === undefined) return []
        waiting.delete(entry.index)
        const input = newInputScan()
        // Opened at its end, the block's id can carry a signature that came after the start.
        const events = openBlock(
          { kind: "tool", index: entry.index, input },
          toolUse(idWithSignature(call.id, entry.thoughtSignature ?? call.thoughtSignature), call.name),
        )
        const part = scanInput(input, entry.arguments)
        if (part !== "") events.push(delta({ type: "input_json_delta", partial_json: part }))
        return [...events, ...close()]
      }
      case "usage":
        usage = laterUsage(usage, entry)
        return []
      case "finish":
        finish = entry
        return [...closeAndRelease(), ...close()]
      case "error":
        errorSent = true
        return endWithError(entry.errorType ?? "api_error", entry.message)
      case "reasoning-details":
        // OpenRouter's items have no block of Messages.
        return []
    }
  }

  /**
   * The error event, after every block is stopped: the open one, and the one the held text is
   * released into. Nothing may follow the error to stop them.
   */
  const endWithError = (type: string, message: string): ViewEvent[] => [
    ...closeAndRelease(),
    ...close(),
    errorEvent(type, message),
  ]

  const end = (entry: EndEntry): ViewEvent[] => {
    if (entry.status === "done") {
      return [
        ...closeAndRelease(),
        ...close(),
        event("message_delta", {
          delta: {
            stop_reason: finish === undefined ? "end_turn" : anthropicStopReason(finish, refused),
            stop_sequence: finish?.stopSequence ?? null,
          },
          // Anthropic repeats the input tokens here; an OpenAI upstream only tells them at the end.
          usage: {
            ...anthropicInputUsage(usage),
            output_tokens: usage?.outputTokens ?? entry.stats.usage.outputTokens ?? 0,
          },
        }),
        event("message_stop"),
      ]
    }
    const type = entry.status === "failed" ? (entry.error?.type ?? "api_error") : END_ERROR_TYPE[entry.status]
    return endWithError(type, entry.error?.message ?? `the generation ${entry.status}`)
  }

  return {
    render(entry: StoredEntry) {
      // The error event ended the stream for its clients.
      if (errorSent) return []
      const events = entry.type === "end" ? end(entry) : content(entry)
      if (started) return events
      started = true
      const message = {
        id: `msg_${id}`,
        type: "message",
        role: "assistant",
        content: [],
        model: meta.model,
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: 0,
          ...anthropicInputUsage(entry.type === "usage" ? entry : undefined),
          output_tokens: 0,
        },
      }
      return [event("message_start", { message }), event("ping"), ...events]
    },
  }
}

function errorEvent(type: string, message: string): ViewEvent {
  return { event: "error", data: JSON.stringify({ type: "error", error: { type, message } }) }
}
