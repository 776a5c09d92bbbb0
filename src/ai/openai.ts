import type { Entry, FinishReason } from "./entries.js"
import { optionalPositiveFinite } from "./option-checks.js"
import type { Provider } from "./provider.js"
import type { NormalizedRequest } from "./request.js"
import {
  type EventTranslator,
  isRecord,
  streamFromUpstream,
  type Translation,
  upstreamFailure,
} from "./sse-over-http.js"
import { toOpenAIChatRequest } from "./to-openai-request.js"

/** Where and how to reach an OpenAI-compatible Chat Completions API. */
export interface OpenAIProviderOptions {
  /** Up to and including `/v1`: `https://api.openai.com/v1`, vLLM's or llama.cpp's `http://host:8000/v1`, Ollama's `http://localhost:11434/v1`, `https://openrouter.ai/api/v1`. */
  baseURL: string
  /** Sent as `authorization: Bearer …`; local servers often need none. */
  apiKey?: string
  /** More headers on every request (OpenRouter's `HTTP-Referer`, an organization header). */
  headers?: Record<string, string>
  /** How long the upstream may send nothing (before its answer's head, or between chunks) before its connection is closed, in ms. Default 300 000. */
  idleTimeoutMs?: number
}

/**
 * A provider for OpenAI Chat Completions and the servers compatible with it (vLLM, Ollama,
 * llama.cpp server, OpenRouter), streaming with `stream_options.include_usage`.
 */
export function openaiProvider(options: OpenAIProviderOptions): Provider {
  optionalPositiveFinite("idleTimeoutMs", options.idleTimeoutMs)
  const url = `${options.baseURL.replace(/\/+$/, "")}/chat/completions`
  const headers: Record<string, string> = { ...options.headers }
  if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`
  return {
    kind: "openai",
    async *stream(request: NormalizedRequest, signal: AbortSignal): AsyncGenerator<Entry, void, undefined> {
      // "The usage chunk (`choices: []`) comes only with `stream_options: {include_usage: true}`."
      const body = { ...toOpenAIChatRequest(request), stream: true, stream_options: { include_usage: true } }
      yield* streamFromUpstream(
        { url, headers, body, idleTimeoutMs: options.idleTimeoutMs },
        new OpenAIChunkTranslator(),
        signal,
      )
    },
  }
}

const FINISH_REASONS: Record<string, FinishReason> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool_calls",
  // The deprecated single-function form.
  function_call: "tool_calls",
  content_filter: "content_filter",
}

/** A tool call being streamed: its entry index, and its arguments so far. */
interface OpenToolCall {
  index: number
  arguments: string
}

/** Reads `chat.completion.chunk` frames (`data:` only, no `event:`) into entries. Choice 0 only. */
export class OpenAIChunkTranslator implements EventTranslator {
  /** Tool calls by the chunk's `tool_calls[].index`. */
  private readonly toolCalls = new Map<number, OpenToolCall>()
  private toolCallCount = 0

  /** "`[DONE]` ends iteration." */
  readonly endMarker = "[DONE]"

  translate(chunk: Record<string, unknown>): Translation {
    // Errors after 200: `data: {"error": {...}}`; vLLM: `{"object": "error", "message": ...}`.
    if (isRecord(chunk.error)) return { entries: [upstreamFailure(chunk.error, "upstream_error")], end: true }
    if (chunk.object === "error") return { entries: [upstreamFailure(chunk, "upstream_error")], end: true }

    const entries: Translation["entries"] = []
    // Unknown fields (`obfuscation` padding, `system_fingerprint`, vendors' own) are not read.
    const choice = Array.isArray(chunk.choices)
      ? chunk.choices.find((each) => isRecord(each) && (each.index ?? 0) === 0)
      : undefined
    if (isRecord(choice)) {
      if (isRecord(choice.delta)) this.readDelta(choice.delta, entries)
      if (typeof choice.finish_reason === "string") {
        this.endToolCalls(entries)
        entries.push({
          type: "finish",
          reason: FINISH_REASONS[choice.finish_reason] ?? "other",
          rawReason: choice.finish_reason,
        })
      }
    }
    // The usage chunk has `choices: []`; some servers (vLLM's continuous usage) put usage on every
    // chunk. Either way it holds the totals so far.
    if (isRecord(chunk.usage)) {
      const usage = chunk.usage
      entries.push({
        type: "usage",
        ...(typeof usage.prompt_tokens === "number" && { inputTokens: usage.prompt_tokens }),
        ...(typeof usage.completion_tokens === "number" && { outputTokens: usage.completion_tokens }),
      })
    }
    return { entries, end: false }
  }

  private readDelta(delta: Record<string, unknown>, entries: Translation["entries"]): void {
    // Reasoning: `reasoning_content` (vLLM, DeepSeek, llama.cpp), `reasoning` (OpenRouter, Ollama).
    const reasoning = delta.reasoning_content ?? delta.reasoning
    if (typeof reasoning === "string" && reasoning !== "")
      entries.push({ type: "reasoning-delta", text: reasoning })
    // The first chunk's `{"role": "assistant", "content": ""}` carries nothing.
    if (typeof delta.content === "string" && delta.content !== "") {
      entries.push({ type: "text-delta", text: delta.content })
    }
    if (!Array.isArray(delta.tool_calls)) return
    // `delta.tool_calls[{index, id?, type?, function: {name?, arguments}}]`: id and name come with
    // a call's first fragment, "the arguments as string fragments to concatenate".
    for (const fragment of delta.tool_calls) {
      if (!isRecord(fragment)) continue
      const upstreamIndex = typeof fragment.index === "number" ? fragment.index : 0
      const fn = isRecord(fragment.function) ? fragment.function : {}
      let call = this.toolCalls.get(upstreamIndex)
      if (call === undefined) {
        call = { index: this.toolCallCount++, arguments: "" }
        this.toolCalls.set(upstreamIndex, call)
        entries.push({
          type: "tool-call-start",
          index: call.index,
          // Some compatible servers leave the id out; the next turn still needs one.
          id: typeof fragment.id === "string" && fragment.id !== "" ? fragment.id : `call_${call.index}`,
          name: typeof fn.name === "string" ? fn.name : "",
        })
      }
      if (typeof fn.arguments === "string" && fn.arguments !== "") {
        call.arguments += fn.arguments
        entries.push({ type: "tool-call-delta", index: call.index, arguments: fn.arguments })
      }
    }
  }

  /** Chat Completions never says a tool call is complete: all of them are, at the finish reason. */
  private endToolCalls(entries: Translation["entries"]): void {
    for (const call of this.toolCalls.values()) {
      entries.push({ type: "tool-call-end", index: call.index, arguments: call.arguments || "{}" })
    }
    this.toolCalls.clear()
  }
}
