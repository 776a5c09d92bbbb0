import { randomBytes } from "node:crypto"
import { type Entry, type FinishReason, tokenCount } from "./entries.js"
import { optionalPositiveFinite } from "./option-checks.js"
import type { Provider } from "./provider.js"
import {
  addReasoningDetail,
  claudeReasoningEntries,
  geminiSignatureOf,
  isClaudeText,
  type ReasoningDetail,
} from "./reasoning-details.js"
import type { NormalizedRequest } from "./request.js"
import {
  type EventTranslator,
  isRecord,
  streamFromUpstream,
  type Translation,
  upstreamFailure,
  upstreamURL,
} from "./sse-over-http.js"
import { thoughtSignatureOf } from "./thought-signature.js"
import { type MaxTokensField, toOpenAIChatRequest } from "./to-openai-request.js"

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
  /**
   * The field the most output tokens are sent in. Default: `max_completion_tokens` for OpenAI's
   * own API (`api.openai.com`: its reasoning models refuse `max_tokens`), `max_tokens` for any
   * other server (Ollama and LM Studio read no other).
   */
  maxTokensField?: MaxTokensField
  /**
   * Whether to ask for the usage chunk (`stream_options: {include_usage: true}`). Default: yes,
   * but for Mistral's API (`api.mistral.ai`), which refuses the field (422) and sends the usage
   * in its last chunk anyway.
   */
  streamUsage?: boolean
  /**
   * Whether tool calls in a request's history carry Gemini's thought signatures
   * (`extra_content.google.thought_signature`), which Gemini 3 requires back. Default: for
   * Google's APIs (a `*.googleapis.com` host) only, since other servers may refuse the field.
   */
  thoughtSignatures?: boolean
  /**
   * Whether an assistant turn with tool calls carries its reasoning back (`reasoning_content`),
   * which DeepSeek's thinking mode requires. Default: for DeepSeek's API (`api.deepseek.com`)
   * only, since other servers may refuse the field.
   */
  reasoningWithToolCalls?: boolean
  /**
   * Whether an assistant turn carries its `reasoning_details` back, as OpenRouter wants them (for
   * Gemini 3's tool calls, it refuses the turn without them). Default: for OpenRouter
   * (`openrouter.ai`) only, since other servers may refuse the field.
   */
  reasoningDetails?: boolean
  /**
   * Whether a request's `top_k` (Messages', or an OpenAI client's for vLLM) goes to the server,
   * which vLLM, llama.cpp server and OpenRouter read; OpenAI's own API refuses it. Default: for
   * OpenRouter (`openrouter.ai`) only; elsewhere a request with it is refused naming it.
   */
  topK?: boolean
}

/**
 * A provider for OpenAI Chat Completions and the servers compatible with it (vLLM, Ollama,
 * llama.cpp server, OpenRouter, Mistral), streaming with `stream_options.include_usage` where
 * the server takes it.
 */
export function openaiProvider(options: OpenAIProviderOptions): Provider {
  optionalPositiveFinite("idleTimeoutMs", options.idleTimeoutMs)
  // Read whatever the options say: it checks the base URL too.
  const defaults = serverDefaults(options.baseURL)
  const maxTokensField = options.maxTokensField ?? defaults.maxTokensField
  const streamUsage = options.streamUsage ?? defaults.streamUsage
  const thoughtSignatures = options.thoughtSignatures ?? defaults.thoughtSignatures
  const reasoningWithToolCalls = options.reasoningWithToolCalls ?? defaults.reasoningWithToolCalls
  const reasoningDetails = options.reasoningDetails ?? defaults.reasoningDetails
  const topK = options.topK ?? defaults.topK
  const flags = { streamUsage, thoughtSignatures, reasoningWithToolCalls, reasoningDetails, topK }
  for (const [name, value] of Object.entries(flags)) {
    if (typeof value !== "boolean")
      throw new TypeError(`${name} must be true or false; got ${JSON.stringify(value)}`)
  }
  if (maxTokensField !== "max_tokens" && maxTokensField !== "max_completion_tokens") {
    throw new TypeError(
      `maxTokensField must be "max_tokens" or "max_completion_tokens"; got ${JSON.stringify(maxTokensField)}`,
    )
  }
  const url = `${options.baseURL.replace(/\/+$/, "")}/chat/completions`
  const headers: Record<string, string> = { ...options.headers }
  if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`
  const bodyOf = (request: NormalizedRequest) =>
    toOpenAIChatRequest(request, {
      maxTokensField,
      thoughtSignatures,
      reasoningWithToolCalls,
      reasoningDetails,
      topK,
    })
  return {
    kind: "openai",
    check: bodyOf,
    async *stream(request: NormalizedRequest, signal: AbortSignal): AsyncGenerator<Entry, void, undefined> {
      // "The usage chunk (`choices: []`) comes only with `stream_options: {include_usage: true}`."
      const body = {
        ...bodyOf(request),
        stream: true,
        ...(streamUsage && { stream_options: { include_usage: true } }),
      }
      yield* streamFromUpstream(
        { url, headers, body, idleTimeoutMs: options.idleTimeoutMs },
        new OpenAIChunkTranslator(),
        signal,
      )
    },
  }
}

/** The settings in which compatible servers differ, as a server's host decides them by default. */
export interface ServerSettings {
  readonly maxTokensField: MaxTokensField
  readonly streamUsage: boolean
  readonly thoughtSignatures: boolean
  readonly reasoningWithToolCalls: boolean
  readonly reasoningDetails: boolean
  readonly topK: boolean
}

/** What the server at `baseURL` gets unless its model says otherwise (see {@link OpenAIProviderOptions}). */
export function serverDefaults(baseURL: string): ServerSettings {
  const host = upstreamURL(baseURL).hostname
  return {
    // OpenAI's reasoning models refuse max_tokens; Ollama and LM Studio read no other.
    maxTokensField: host === "api.openai.com" ? "max_completion_tokens" : "max_tokens",
    // Mistral's API refuses stream_options.
    streamUsage: host !== "api.mistral.ai",
    // Gemini and Vertex AI want thought signatures back; other servers may refuse the field.
    thoughtSignatures: host.endsWith(".googleapis.com"),
    // DeepSeek's thinking mode wants a tool turn's reasoning back.
    reasoningWithToolCalls: host === "api.deepseek.com",
    // OpenRouter wants an answer's reasoning_details back.
    reasoningDetails: host === "openrouter.ai",
    // OpenRouter passes top_k on to the models that take it.
    topK: host === "openrouter.ai",
  }
}

const FINISH_REASONS: Record<string, FinishReason> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool_calls",
  // The deprecated single-function form.
  function_call: "tool_calls",
  content_filter: "content_filter",
  // Mistral's: the model's context window was reached.
  model_length: "length",
}

/**
 * A tool call being streamed. It starts (its `tool-call-start` entry) once its name is known:
 * some servers send a first fragment with neither id nor name, and those come in a later one.
 */
interface StreamedToolCall {
  /** Its entry index, once started. */
  index: number | undefined
  id: string | undefined
  arguments: string
  /** Its thought signature, and whether its start carried it (else its end does). */
  signature: string | undefined
  signatureStored: boolean
}

/** Reads `chat.completion.chunk` frames (`data:` only, no `event:`) into entries. Choice 0 only. */
export class OpenAIChunkTranslator implements EventTranslator {
  /** Tool calls by the chunk's `tool_calls[].index`; where a server leaves it out, by id, or by order of arrival (see {@link toolCallKey}). */
  private readonly toolCalls = new Map<number | string, StreamedToolCall>()
  /** The key of the call the last fragment belonged to. */
  private lastToolCallKey: number | string | undefined
  /** The key of the latest call at an index that a server gave to more than one call. */
  private readonly reusedIndexKeys = new Map<number, string>()
  private toolCallCount = 0
  /**
   * How the ids this answer makes up begin (`call_` and 12 random characters): unique to it, so
   * that a made-up id names one call of one answer (the reasoning memory looks calls up by id).
   */
  private readonly madeUpIds = `call_${randomBytes(9).toString("base64url")}`
  private unnamedCount = 0
  private finished = false
  /** OpenRouter's `reasoning_details` so far, given as one entry at the end of the answer. */
  private readonly details: ReasoningDetail[] = []
  /** Claude's signatures and encrypted blocks given as entries, once each (a fragment may repeat one). */
  private readonly claudeSeen = new Set<string>()
  /** What the answer's latest output was: none yet, reasoning (its block open), a signature or encrypted block, other. */
  private reasoningState: "none" | "open" | "closed" | "other" = "none"

  /** "`[DONE]` ends iteration." */
  readonly endMarker = "[DONE]"

  translate(chunk: Record<string, unknown>): Translation {
    // Errors after 200: `data: {"error": {...}}`; vLLM: `{"object": "error", "message": ...}`;
    // TGI and some proxies: `{"error": "message"}`.
    if (isRecord(chunk.error)) return { entries: [upstreamFailure(chunk.error, "upstream_error")], end: true }
    if (typeof chunk.error === "string")
      return { entries: [upstreamFailure({ message: chunk.error }, "upstream_error")], end: true }
    if (chunk.object === "error") return { entries: [upstreamFailure(chunk, "upstream_error")], end: true }

    const entries: Translation["entries"] = []
    // Unknown fields (`obfuscation` padding, `system_fingerprint`, vendors' own) are not read.
    const choice = Array.isArray(chunk.choices)
      ? chunk.choices.find((each) => isRecord(each) && (each.index ?? 0) === 0)
      : undefined
    if (isRecord(choice)) {
      if (isRecord(choice.delta)) this.readDelta(choice.delta, entries)
      // Ollama and older SGLang send `""` on every chunk before the last; a server may repeat the
      // reason in its usage chunk. One finish: the first real one.
      const reason = choice.finish_reason
      if (typeof reason === "string" && reason !== "" && !this.finished) {
        this.finished = true
        // DeepSeek's `insufficient_system_resource`, Mistral's `error`: the answer was cut short.
        if (FAILED_FINISH_REASONS.has(reason)) {
          const message = `the upstream ended the answer early (finish_reason "${reason}")`
          // Mistral sends its usage in the same chunk: what was used still counts.
          if (isRecord(chunk.usage)) entries.push(usageEntry(chunk.usage))
          return {
            entries: [...entries, upstreamFailure({ message, type: reason }, "upstream_error")],
            end: true,
          }
        }
        this.endAnswer(entries)
        const mapped = (Object.hasOwn(FINISH_REASONS, reason) && FINISH_REASONS[reason]) || "other"
        // A forced tool choice ends with "stop" on OpenAI and vLLM: the answer is its tool calls.
        const finish = mapped === "stop" && this.toolCallCount > 0 ? "tool_calls" : mapped
        entries.push({ type: "finish", reason: finish, rawReason: reason })
      }
    }
    // The usage chunk has `choices: []`; some servers (vLLM's continuous usage) put usage on every
    // chunk. Either way it holds the totals so far.
    if (isRecord(chunk.usage)) entries.push(usageEntry(chunk.usage))
    return { entries, end: false }
  }

  private readDelta(delta: Record<string, unknown>, entries: Translation["entries"]): void {
    // Reasoning: `reasoning_content` (vLLM, DeepSeek, llama.cpp), `reasoning` (OpenRouter, Ollama);
    // a server may send both, one of them empty.
    // OpenRouter repeats that text in `reasoning_details`, with what must go back with the turn.
    // Claude's items there give the text in order with the signatures that close each block: read
    // from them, a chunk's text and signatures keep their order.
    const fragments = Array.isArray(delta.reasoning_details) ? delta.reasoning_details.filter(isRecord) : []
    const reasoning = nonEmpty(delta.reasoning_content) ?? nonEmpty(delta.reasoning)
    if (reasoning !== undefined && !fragments.some(isClaudeText)) {
      entries.push({ type: "reasoning-delta", text: reasoning })
      this.reasoningState = "open"
    }
    for (const fragment of fragments) {
      addReasoningDetail(this.details, fragment)
      // After the finish, its block is closed: the details alone keep what comes.
      if (!this.finished) this.readClaudeFragment(fragment, entries)
    }
    const before = entries.length
    // The first chunk's `{"role": "assistant", "content": ""}` carries nothing.
    const content = nonEmpty(delta.content)
    if (content !== undefined) entries.push({ type: "text-delta", text: content })
    if (Array.isArray(delta.content)) readContentParts(delta.content, entries)
    const refusal = nonEmpty(delta.refusal)
    if (refusal !== undefined) entries.push({ type: "refusal-delta", text: refusal })
    // The deprecated single-function form: one call, `delta.function_call: {name?, arguments}`.
    if (isRecord(delta.function_call)) this.readToolFragment("function_call", delta.function_call, entries)
    if (Array.isArray(delta.tool_calls)) this.readToolCalls(delta.tool_calls, entries)
    if (entries.length > before) this.reasoningState = "other"
  }

  /**
   * Claude's fragment as entries: its text, a signature that closes the block its text went to
   * (or an empty block before anything else), an encrypted block before other output. A signature
   * with no open block (after text or a call, or a second one in a row) has no place the entries
   * can tell, and only the details keep it. Each signature and encrypted block once.
   */
  private readClaudeFragment(fragment: ReasoningDetail, entries: Translation["entries"]): void {
    // A whole item sent again (its signature given already) adds nothing, its text included.
    if (typeof fragment.signature === "string" && this.claudeSeen.has(fragment.signature)) return
    for (const entry of claudeReasoningEntries(fragment)) {
      if (entry.type === "reasoning-delta") {
        entries.push(entry)
        this.reasoningState = "open"
        continue
      }
      const key = entry.type === "reasoning-signature" ? entry.signature : entry.data
      const placed =
        entry.type === "reasoning-signature"
          ? this.reasoningState === "open" || this.reasoningState === "none"
          : this.reasoningState !== "other"
      if (!placed || this.claudeSeen.has(key)) continue
      this.claudeSeen.add(key)
      entries.push(entry)
      this.reasoningState = "closed"
    }
  }

  private readToolCalls(toolCalls: unknown[], entries: Translation["entries"]): void {
    // `delta.tool_calls[{index, id?, type?, function: {name?, arguments}}]`: id and name usually
    // come with a call's first fragment, "the arguments as string fragments to concatenate".
    for (const fragment of toolCalls) {
      if (!isRecord(fragment)) continue
      this.readToolFragment(this.toolCallKey(fragment), fragment, entries)
    }
  }

  /**
   * Which call a fragment belongs to: its `index`, unless it starts a call (it names a function)
   * with an id other than the id of the call at that index (Ollama numbers every call 0): then it
   * is the next call at that index. A new id on a fragment that names nothing is the same call
   * (Poolside, some vLLM builds: an id per chunk).
   * Without an index (Gemini's compatible endpoint sends whole calls without it), its id when it
   * has one, else the last call — unless it names a function while the last call has its name
   * already: then it is the next call.
   */
  private toolCallKey(fragment: Record<string, unknown>): number | string {
    const id = nonEmpty(fragment.id)
    const named = isRecord(fragment.function) && nonEmpty(fragment.function.name) !== undefined
    if (typeof fragment.index === "number") {
      const key = this.reusedIndexKeys.get(fragment.index) ?? fragment.index
      const knownId = this.toolCalls.get(key)?.id
      if (!named || id === undefined || knownId === undefined || knownId === id) return key
      const next = `index ${fragment.index} again ${this.unnamedCount++}`
      this.reusedIndexKeys.set(fragment.index, next)
      return next
    }
    if (id !== undefined) return `id ${id}`
    const lastKey = this.lastToolCallKey
    const last = lastKey === undefined ? undefined : this.toolCalls.get(lastKey)
    if (lastKey !== undefined && !(named && last?.index !== undefined)) return lastKey
    return `unnamed ${this.unnamedCount++}`
  }

  /** One fragment of call `key`: `{id?, function: {name?, arguments?}}`, or the legacy `{name?, arguments?}`. */
  private readToolFragment(
    key: number | string,
    fragment: Record<string, unknown>,
    entries: Translation["entries"],
  ): void {
    const fn = isRecord(fragment.function) ? fragment.function : fragment
    let call = this.toolCalls.get(key)
    if (call === undefined) {
      call = { index: undefined, id: undefined, arguments: "", signature: undefined, signatureStored: false }
      this.toolCalls.set(key, call)
    }
    this.lastToolCallKey = key
    call.id ??= nonEmpty(fragment.id)
    call.signature ??= thoughtSignatureOf(fragment)
    // llama.cpp's server has sent whole arguments as a JSON object rather than its text.
    const fragmentArguments =
      nonEmpty(fn.arguments) ?? (isRecord(fn.arguments) ? JSON.stringify(fn.arguments) : undefined)
    if (fragmentArguments !== undefined) {
      call.arguments += fragmentArguments
      if (call.index !== undefined)
        entries.push({ type: "tool-call-delta", index: call.index, arguments: fragmentArguments })
    }
    const name = nonEmpty(fn.name)
    if (call.index === undefined && name !== undefined) this.startToolCall(call, name, entries)
  }

  /** The call's start, and the arguments that came before its name as one fragment. */
  private startToolCall(call: StreamedToolCall, name: string, entries: Translation["entries"]): void {
    const index = this.toolCallCount++
    call.index = index
    // OpenRouter gives Gemini's signature as an encrypted item named after the call, before it.
    if (call.id !== undefined) call.signature ??= geminiSignatureOf(this.details, call.id)
    // Some compatible servers leave the id out; the next turn still needs one.
    entries.push({
      type: "tool-call-start",
      index,
      id: call.id ?? `${this.madeUpIds}${index}`,
      name,
      ...(call.signature !== undefined && { thoughtSignature: call.signature }),
    })
    call.signatureStored = call.signature !== undefined
    if (call.arguments !== "") entries.push({ type: "tool-call-delta", index, arguments: call.arguments })
  }

  /**
   * At `[DONE]`, or a cut after the finish: the calls still open end there, their arguments kept.
   * An answer that never said why it stopped ends as its calls say (a client runs its tools on
   * `tool_calls`), else as a plain stop.
   */
  flush(): Translation["entries"] {
    const entries: Translation["entries"] = []
    this.endAnswer(entries)
    if (!this.finished) {
      this.finished = true
      entries.push({ type: "finish", reason: this.toolCallCount > 0 ? "tool_calls" : "stop", rawReason: "" })
    }
    return entries
  }

  /** What the answer's end completes: its tool calls, then its reasoning details. */
  private endAnswer(entries: Translation["entries"]): void {
    this.endToolCalls(entries)
    if (this.details.length > 0) entries.push({ type: "reasoning-details", details: this.details.splice(0) })
  }

  /** Chat Completions never says a tool call is complete: all of them are, at the finish reason. */
  private endToolCalls(entries: Translation["entries"]): void {
    // A call whose name never came still starts, nameless, so that its arguments are not lost; one
    // with neither (an id alone, a vendor's metadata) is no call.
    for (const call of this.toolCalls.values()) {
      if (call.index === undefined && call.arguments !== "") this.startToolCall(call, "", entries)
    }
    const started = [...this.toolCalls.values()].flatMap((call) =>
      call.index === undefined ? [] : [{ ...call, index: call.index }],
    )
    for (const call of started.sort((a, b) => a.index - b.index)) {
      if (call.id !== undefined) call.signature ??= geminiSignatureOf(this.details, call.id)
      entries.push({
        type: "tool-call-end",
        index: call.index,
        arguments: call.arguments || "{}",
        ...(call.signature !== undefined && !call.signatureStored && { thoughtSignature: call.signature }),
      })
    }
    this.toolCalls.clear()
    this.lastToolCallKey = undefined
  }
}

/** Finish reasons that say the answer was cut short by a failure, not ended. */
const FAILED_FINISH_REASONS = new Set(["error", "insufficient_system_resource"])

/**
 * `delta.content` as a list of typed parts (Mistral's reasoning models): `{type: "thinking",
 * thinking: [{type: "text", text}]}` is reasoning, `{type: "text", text}` is text.
 */
function readContentParts(parts: unknown[], entries: Translation["entries"]): void {
  for (const part of parts) {
    if (!isRecord(part)) continue
    if (part.type === "text") {
      const text = nonEmpty(part.text)
      if (text !== undefined) entries.push({ type: "text-delta", text })
    } else if (part.type === "thinking") {
      const pieces = Array.isArray(part.thinking) ? part.thinking : [part.thinking]
      const text = pieces
        .map((piece) =>
          typeof piece === "string" ? piece : isRecord(piece) ? (nonEmpty(piece.text) ?? "") : "",
        )
        .join("")
      if (text !== "") entries.push({ type: "reasoning-delta", text })
    }
  }
}

/** A usage object's counts as an entry: the totals so far. */
function usageEntry(usage: Record<string, unknown>): Translation["entries"][number] {
  const inputTokens = tokenCount(usage.prompt_tokens)
  const outputTokens = tokenCount(usage.completion_tokens)
  const cacheReadTokens = cachedTokensOf(usage)
  const details = usage.completion_tokens_details
  const reasoningTokens = tokenCount(isRecord(details) ? details.reasoning_tokens : undefined)
  return {
    type: "usage",
    ...(inputTokens !== undefined && { inputTokens }),
    ...(outputTokens !== undefined && { outputTokens }),
    ...(cacheReadTokens !== undefined && { cacheReadTokens }),
    ...(reasoningTokens !== undefined && { reasoningTokens }),
  }
}

/** The prompt tokens read from a cache: `prompt_tokens_details.cached_tokens`, or DeepSeek's `prompt_cache_hit_tokens`. */
function cachedTokensOf(usage: Record<string, unknown>): number | undefined {
  const details = usage.prompt_tokens_details
  return (
    tokenCount(isRecord(details) ? details.cached_tokens : undefined) ??
    tokenCount(usage.prompt_cache_hit_tokens)
  )
}

/** `value` when it is a string with something in it. */
function nonEmpty(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined
}
