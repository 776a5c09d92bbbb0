import { type AnswerBlock, addReasoning, signedThinking } from "./answer.js"
import { type Entry, type FinishReason, laterUsage, type UsageEntry } from "./entries.js"
import { addReasoningDetail } from "./reasoning-details.js"
import { completedUsage, END_ERROR_TYPE, type EndEntry, type StoredEntry } from "./stored-entry.js"
import { idWithSignature, signatureFields } from "./thought-signature.js"
import type { View, ViewContext, ViewEvent } from "./view.js"

/** What OpenAI's `finish_reason` says for each of Herald's; it has no word for a paused turn. */
const FINISH_REASON: Record<FinishReason, string> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool_calls",
  content_filter: "content_filter",
  pause: "stop",
  other: "stop",
}

/**
 * A generation as OpenAI Chat Completions chunks (`chat.completion.chunk`), as the `openai` SDK
 * reads them: the assistant role first, `delta.content`, `delta.reasoning_content`,
 * `delta.tool_calls` fragments, the `finish_reason` chunk (last, even when an upstream sent more
 * after its reason), the usage chunk (`choices: []`, when
 * asked for with `stream_options.include_usage`), then `[DONE]`. Claude's signed and encrypted
 * thinking blocks come once, whole, in the finish chunk's `delta.thinking_blocks` (LiteLLM's
 * field; a stream helper keeps only the last value of a field it does not know, so they cannot
 * come piece by piece). A failure is
 * `{"error": {...}}`; so are a cancel and an interruption, which OpenAI's format cannot
 * otherwise tell from a finished answer.
 */
export function openaiView(context: ViewContext): View {
  const { id, meta } = context
  const base = {
    id: `chatcmpl-${id}`,
    object: "chat.completion.chunk",
    created: seconds(meta.createdAt),
    model: meta.model,
  }
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null): ViewEvent => ({
    data: JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finishReason }] }),
  })
  let started = false
  /** The finish reason, held until the end: an upstream may send text or calls after it (last wins). */
  let finishReason: string | undefined
  let usage: UsageEntry | undefined
  let errorSent = false
  /**
   * The thinking blocks to give back so far. Text or a call after thinking stands as an empty text
   * block (only its place matters); a thinking block it closes unsigned is dropped, as it can never
   * be given back, so that no more than one block's reasoning is held for nothing.
   */
  const blocks: AnswerBlock[] = []
  /** OpenRouter's reasoning details so far, joined. */
  const details: Record<string, unknown>[] = []
  /** The calls (by index) whose arguments went out in fragments. */
  const streamedArguments = new Set<number>()

  const content = (entry: Entry): ViewEvent[] => {
    if (
      entry.type === "reasoning-delta" ||
      entry.type === "reasoning-signature" ||
      entry.type === "reasoning-redacted"
    )
      addReasoning(blocks, entry)
    else if (
      entry.type === "text-delta" ||
      entry.type === "refusal-delta" ||
      entry.type === "tool-call-start"
    ) {
      const last = blocks.at(-1)
      if (last?.type === "thinking" && last.signature === "") blocks.pop()
      if (blocks.at(-1)?.type === "thinking") blocks.push({ type: "text", text: "" })
    }
    switch (entry.type) {
      case "text-delta":
        return [chunk({ content: entry.text })]
      case "refusal-delta":
        return [chunk({ refusal: entry.text })]
      case "reasoning-delta":
        return [chunk({ reasoning_content: entry.text })]
      case "tool-call-start":
        return [
          chunk({
            tool_calls: [
              {
                index: entry.index,
                id: idWithSignature(entry.id, entry.thoughtSignature),
                type: "function",
                function: { name: entry.name, arguments: "" },
                ...signatureFields(entry.thoughtSignature),
              },
            ],
          }),
        ]
      case "tool-call-delta":
        if (entry.arguments !== "") streamedArguments.add(entry.index)
        return [chunk({ tool_calls: [{ index: entry.index, function: { arguments: entry.arguments } }] })]
      case "tool-call-end": {
        // A call whose arguments came whole (Anthropic's call without input streams none): they
        // go out here, or a client would parse "" where the whole answer says "{}".
        const whole = !streamedArguments.has(entry.index) && entry.arguments !== ""
        // A signature that came after the call's start follows its last fragment.
        if (!whole && entry.thoughtSignature === undefined) return []
        const call = { index: entry.index, ...(whole ? { function: { arguments: entry.arguments } } : {}) }
        return [chunk({ tool_calls: [{ ...call, ...signatureFields(entry.thoughtSignature) }] })]
      }
      case "reasoning-details":
        // All so far, each time: a stream helper keeps only the last value of a field it does not know.
        for (const detail of entry.details) addReasoningDetail(details, detail)
        return [chunk({ reasoning_details: details })]
      case "finish":
        finishReason = FINISH_REASON[entry.reason]
        return []
      case "usage":
        usage = laterUsage(usage, entry)
        return []
      case "error":
        errorSent = true
        return [...heldFinish(), errorEvent(entry.message, entry.errorType ?? "server_error", entry.code)]
      default:
        // Signatures and encrypted reasoning wait for the finish; citations have no place in a chunk.
        return []
    }
  }

  const finishChunk = (reason: string): ViewEvent => {
    const thinking = signedThinking(blocks)
    return chunk(thinking.length === 0 ? {} : { thinking_blocks: thinking }, reason)
  }

  /** The finish chunk once, before a failure, when the upstream had given its reason. */
  const heldFinish = (): ViewEvent[] => {
    if (finishReason === undefined) return []
    const reason = finishReason
    finishReason = undefined
    return [finishChunk(reason)]
  }

  const end = (entry: EndEntry): ViewEvent[] => {
    if (entry.status === "done") {
      // A server that ended without a reason still ended its answer, as the whole answer says:
      // an OpenAI client wants a finish_reason before [DONE].
      const finish = finishChunk(finishReason ?? "stop")
      const final = meta.includeUsage
        ? [
            {
              data: JSON.stringify({
                ...base,
                choices: [],
                usage: openaiUsage(completedUsage(usage, entry.stats.usage)),
              }),
            },
          ]
        : []
      return [finish, ...final, { data: "[DONE]" }]
    }
    if (errorSent) return []
    if (entry.status === "failed") {
      return [
        ...heldFinish(),
        errorEvent(entry.error?.message ?? "the generation failed", entry.error?.type ?? "server_error"),
      ]
    }
    return [
      ...heldFinish(),
      errorEvent(entry.error?.message ?? `the generation was ${entry.status}`, END_ERROR_TYPE[entry.status]),
    ]
  }

  return {
    render(entry: StoredEntry) {
      const events = entry.type === "end" ? end(entry) : content(entry)
      const failure = entry.type === "error" || (entry.type === "end" && entry.status !== "done")
      if (started || failure) return events
      started = true
      // OpenAI's first chunk names the role; every stream starts with it.
      return [chunk({ role: "assistant", content: "" }), ...events]
    },
  }
}

/**
 * OpenAI's usage object; unknown counts are 0, as an OpenAI client expects numbers. The prompt
 * tokens read from a cache are `prompt_tokens_details.cached_tokens`, and the output tokens spent
 * reasoning `completion_tokens_details.reasoning_tokens`, when known.
 */
export function openaiUsage(usage: UsageEntry) {
  const prompt = usage.inputTokens ?? 0
  const completion = usage.outputTokens ?? 0
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    ...(usage.cacheReadTokens !== undefined && {
      prompt_tokens_details: { cached_tokens: usage.cacheReadTokens },
    }),
    ...(usage.reasoningTokens !== undefined && {
      completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    }),
  }
}

function errorEvent(message: string, type: string, code?: string): ViewEvent {
  return { data: JSON.stringify({ error: { message, type, param: null, code: code ?? null } }) }
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000)
}
