import { DEFAULT_MAX_JSON_DEPTH, nestsDeeper } from "../auth/json-depth.js"
import type { Entry, FinishReason } from "./entries.js"
import type { EndEntry, StoredEntry } from "./stored-entry.js"
import { idWithSignature, signatureMetadata } from "./thought-signature.js"
import type { View, ViewContext, ViewEvent } from "./view.js"

/** The response header the AI SDK's UI message stream is recognized by. */
export const UI_MESSAGE_STREAM_HEADERS: Readonly<Record<string, string>> = {
  "x-vercel-ai-ui-message-stream": "v1",
}

/** The AI SDK's names of the reasons a model stops. */
const UI_FINISH_REASON: Record<FinishReason, string> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool-calls",
  content_filter: "content-filter",
  pause: "other",
  other: "other",
}

/**
 * A generation as the Vercel AI SDK's UI message stream (what `useChat` reads): `start` and
 * `start-step`, text and reasoning parts (`*-start`, `*-delta`, `*-end`) opened whenever the
 * kind of entry changes, tool calls as `tool-input-start`, `tool-input-delta` and
 * `tool-input-available` (with the parsed arguments), then `finish-step`, `finish` (with its `finishReason`) and `[DONE]`.
 * The `start` part's `messageId` is the continued assistant message's id when the generation has
 * one (so the chat adds the answer to that message, as the AI SDK's `toUIMessageStreamResponse`
 * with `originalMessages` does), else `msg_<id>`. A failure or an interruption is an `error`
 * part, a cancel an `abort` part. Claude's signature of a thinking block is its reasoning part's
 * provider metadata `anthropic.signature`, and its encrypted thinking a reasoning part of its own
 * with `anthropic.redactedData` (the names of the AI SDK's Anthropic provider), OpenRouter's
 * reasoning details an empty reasoning part with `openrouter.reasoning_details` (its provider's
 * name), so that `useChat` sends them back with the turn.
 */
export function aiSdkView(context: ViewContext): View {
  let started = false
  /** The part open; a reasoning part has its signature once it came (then it is closed to more reasoning, and to another signature). */
  let open: { readonly kind: "text" | "reasoning"; readonly id: string; signature?: string } | undefined
  let parts = 0
  let ended = false
  /** Why the model stopped, as the last finish entry said. */
  let finishReason: FinishReason | undefined
  const tools = new Map<
    number,
    { readonly id: string; readonly name: string; readonly thoughtSignature: string | undefined }
  >()

  const part = (fields: Record<string, unknown>): ViewEvent => ({ data: JSON.stringify(fields) })
  const close = (): ViewEvent[] => {
    if (open === undefined) return []
    const event = part({ type: `${open.kind}-end`, id: open.id })
    open = undefined
    return [event]
  }
  const ensure = (kind: "text" | "reasoning", fields: Record<string, unknown> = {}): ViewEvent[] => {
    if (open?.kind === kind && open.signature === undefined) return []
    const events = close()
    open = { kind, id: `${kind}-${parts++}` }
    events.push(part({ type: `${kind}-start`, id: open.id, ...fields }))
    return events
  }

  const content = (entry: Entry): ViewEvent[] => {
    switch (entry.type) {
      case "text-delta":
      case "refusal-delta":
        return [...ensure("text"), part({ type: "text-delta", id: open?.id, delta: entry.text })]
      case "reasoning-delta":
        return [...ensure("reasoning"), part({ type: "reasoning-delta", id: open?.id, delta: entry.text })]
      case "reasoning-signature": {
        // A signature comes whole: one after a signed part is the next part's (a block with no text).
        const events = ensure("reasoning")
        const reasoning = open as NonNullable<typeof open>
        reasoning.signature = entry.signature
        const metadata = { anthropic: { signature: reasoning.signature } }
        return [
          ...events,
          part({ type: "reasoning-delta", id: reasoning.id, delta: "", providerMetadata: metadata }),
        ]
      }
      case "reasoning-redacted":
        return [
          ...close(),
          ...ensure("reasoning", { providerMetadata: { anthropic: { redactedData: entry.data } } }),
          ...close(),
        ]
      case "reasoning-details":
        return [
          ...close(),
          ...ensure("reasoning", { providerMetadata: { openrouter: { reasoning_details: entry.details } } }),
          ...close(),
        ]
      case "tool-call-start": {
        const id = idWithSignature(entry.id, entry.thoughtSignature)
        tools.set(entry.index, { id, name: entry.name, thoughtSignature: entry.thoughtSignature })
        return [...close(), part({ type: "tool-input-start", toolCallId: id, toolName: entry.name })]
      }
      case "tool-call-delta": {
        const tool = tools.get(entry.index)
        return tool === undefined
          ? []
          : [part({ type: "tool-input-delta", toolCallId: tool.id, inputTextDelta: entry.arguments })]
      }
      case "tool-call-end": {
        const tool = tools.get(entry.index)
        return tool === undefined
          ? []
          : [
              part({
                type: "tool-input-available",
                toolCallId: tool.id,
                toolName: tool.name,
                input: parseInput(entry.arguments),
                ...signatureMetadata(entry.thoughtSignature ?? tool.thoughtSignature),
              }),
            ]
      }
      case "finish":
        finishReason = entry.reason
        return close()
      case "error":
        ended = true
        return [...close(), part({ type: "error", errorText: entry.message })]
      default:
        // Usage and citations have no part of their own.
        return []
    }
  }

  const end = (entry: EndEntry): ViewEvent[] => {
    const events = close()
    if (entry.status === "done") {
      // `useChat`'s onFinish reports it: a page can tell an answer cut at its length from a whole one.
      const reason = finishReason === undefined ? {} : { finishReason: UI_FINISH_REASON[finishReason] }
      events.push(part({ type: "finish-step" }), part({ type: "finish", ...reason }))
    } else if (entry.status === "cancelled") events.push(part({ type: "abort" }))
    else if (!ended)
      events.push(
        part({ type: "error", errorText: entry.error?.message ?? `the generation ${entry.status}` }),
      )
    events.push({ data: "[DONE]" })
    return events
  }

  return {
    render(entry: StoredEntry) {
      const events = entry.type === "end" ? end(entry) : content(entry)
      if (started) return events
      started = true
      return [
        part({ type: "start", messageId: context.meta.messageId ?? `msg_${context.id}` }),
        part({ type: "start-step" }),
        ...events,
      ]
    },
  }
}

/** A tool call's input: its arguments parsed, or the text itself when it is not JSON (or nests too deep to write back). */
function parseInput(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text === "" ? "{}" : text)
    return nestsDeeper(value, DEFAULT_MAX_JSON_DEPTH) ? text : value
  } catch {
    return text
  }
}
