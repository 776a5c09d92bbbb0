import { randomBytes } from "node:crypto"
import { anthropicFinish } from "./anthropic-stop-reasons.js"
import { type Entry, tokenCount } from "./entries.js"
import { optionalPositiveFinite } from "./option-checks.js"
import type { Provider } from "./provider.js"
import type { NormalizedRequest } from "./request.js"
import {
  type EventTranslator,
  failure,
  isRecord,
  streamFromUpstream,
  type Translation,
  upstreamFailure,
  upstreamURL,
} from "./sse-over-http.js"
import { toAnthropicMessagesRequest } from "./to-anthropic-request.js"

/** Where and how to reach the Anthropic Messages API (or a compatible one). */
export interface AnthropicProviderOptions {
  /** Up to and including `/v1`: `https://api.anthropic.com/v1`. */
  baseURL: string
  /** Sent as `x-api-key`. */
  apiKey?: string
  /** More headers on every request (`anthropic-beta`…). */
  headers?: Record<string, string>
  /** How long the upstream may send nothing (before its answer's head, or between chunks) before its connection is closed, in ms. Default 300 000. */
  idleTimeoutMs?: number
}

/** The API version this adapter reads: "Headers: `x-api-key`, `anthropic-version: 2023-06-01`". */
export const ANTHROPIC_VERSION = "2023-06-01"

/** A provider for Anthropic Messages, streaming. */
export function anthropicProvider(options: AnthropicProviderOptions): Provider {
  optionalPositiveFinite("idleTimeoutMs", options.idleTimeoutMs)
  upstreamURL(options.baseURL)
  const url = `${options.baseURL.replace(/\/+$/, "")}/messages`
  const headers: Record<string, string> = { "anthropic-version": ANTHROPIC_VERSION, ...options.headers }
  if (options.apiKey !== undefined) headers["x-api-key"] = options.apiKey
  return {
    kind: "anthropic",
    check: toAnthropicMessagesRequest,
    async *stream(request: NormalizedRequest, signal: AbortSignal): AsyncGenerator<Entry, void, undefined> {
      const body = { ...toAnthropicMessagesRequest(request), stream: true }
      yield* streamFromUpstream(
        { url, headers, body, idleTimeoutMs: options.idleTimeoutMs },
        new AnthropicEventTranslator(),
        signal,
      )
    },
  }
}

/**
 * A content block open in the stream. A tool call's `input` is what its `input_json_delta`s
 * joined; `startInput`, the input its `content_block_start` gave whole (a server may send it
 * there, with no deltas), counts when no delta came. Likewise a thinking block's `startSignature`
 * counts at its stop when no `signature_delta` came.
 */
type OpenBlock =
  | { kind: "tool"; index: number; input: string; startInput: string }
  | { kind: "thinking"; startSignature: string; signed: boolean }
  | { kind: "other" }

/** Reads Messages stream events (`event:` named, the `type` repeated in the JSON) into entries. */
export class AnthropicEventTranslator implements EventTranslator {
  private started = false
  private finished = false
  /** Open content blocks by the event's `index`. */
  private readonly blocks = new Map<number, OpenBlock>()
  private toolCallCount = 0
  /**
   * How the ids this answer makes up begin (`toolu_` and 12 random characters), as the OpenAI
   * adapter's: unique to it, so that a made-up id names one call of one answer.
   */
  private readonly madeUpIds = `toolu_${randomBytes(9).toString("base64url")}`
  private readonly inputParts: InputParts = {}

  translate(frame: Record<string, unknown>): Translation {
    // The JSON's `type` is the event's name repeated; it is the one the SDK reads.
    switch (frame.type) {
      case "ping":
        // "`ping` may appear anywhere."
        return { entries: [], end: false }
      case "error":
        // `event: error` / `data: {"type":"error","error":{"type":"overloaded_error",...}}`
        return { entries: [upstreamFailure(errorOf(frame.error) ?? {}, "api_error")], end: true }
      case "message_start":
        this.started = true
        return {
          entries: usageOf(isRecord(frame.message) ? frame.message.usage : undefined, this.inputParts),
          end: false,
        }
      case "content_block_start":
      case "content_block_delta":
      case "content_block_stop":
      case "message_delta":
        // "`MessageStream` also throws on deltas before `message_start`."
        if (!this.started) {
          return { entries: [failure("protocol_error", `${frame.type} before message_start`)], end: true }
        }
        return { entries: this.readMessageEvent(frame), end: false }
      case "message_stop":
        // A stop before any message is no answer, not an empty one.
        if (!this.started)
          return { entries: [failure("protocol_error", "message_stop before message_start")], end: true }
        // A server that never said why it stopped (Ollama may leave the reason out) still ends the calls it made.
        return { entries: this.finished ? [] : this.finish(""), end: true }
      default: {
        // An error in OpenAI's shape, as some proxies send it: `{"error": {"type", "message"}}`
        // (or `{"error": "message"}`, TGI's).
        const error = frame.type === undefined ? errorOf(frame.error) : undefined
        if (error !== undefined) return { entries: [upstreamFailure(error, "api_error")], end: true }
        // "Unknown event types must be ignored (the versioning policy says new ones will appear)."
        return { entries: [], end: false }
      }
    }
  }

  private readMessageEvent(frame: Record<string, unknown>): Translation["entries"] {
    const at = typeof frame.index === "number" ? frame.index : 0
    if (frame.type === "content_block_start") return this.startBlock(at, frame.content_block)
    if (frame.type === "content_block_delta")
      return isRecord(frame.delta) ? this.readDelta(at, frame.delta) : []
    if (frame.type === "content_block_stop") return this.stopBlock(at)
    // message_delta: `{"delta": {"stop_reason", "stop_sequence"}, "usage": {"output_tokens"}}`.
    const entries: Translation["entries"] = []
    const delta = isRecord(frame.delta) ? frame.delta : {}
    if (typeof delta.stop_reason === "string" && !this.finished) {
      entries.push(...this.finish(delta.stop_reason, delta.stop_sequence))
    }
    entries.push(...usageOf(frame.usage, this.inputParts))
    return entries
  }

  /** The answer's finish, `raw` the upstream's stop reason ("" when it gave none). */
  private finish(raw: string, stopSequence?: unknown): Translation["entries"] {
    this.finished = true
    // A server that leaves out a tool block's `content_block_stop` still ends its call.
    const entries = [...this.blocks.keys()].flatMap((open) => this.stopBlock(open))
    // No reason at all is a plain end.
    const mapped = raw === "" ? "stop" : (anthropicFinish(raw) ?? "other")
    // Compatible servers may end tool calls with `end_turn` (or with nothing): the answer is its calls.
    // A stop sequence may have cut a call's input: that one stays a stop.
    const toolTurn = this.toolCallCount > 0 && (raw === "end_turn" || raw === "")
    entries.push({
      type: "finish",
      reason: toolTurn ? "tool_calls" : mapped,
      rawReason: raw,
      ...(typeof stopSequence === "string" && { stopSequence }),
    })
    return entries
  }

  private stopBlock(at: number): Translation["entries"] {
    const block = this.blocks.get(at)
    this.blocks.delete(at)
    if (block?.kind === "thinking" && !block.signed && block.startSignature !== "")
      return [{ type: "reasoning-signature", signature: block.startSignature }]
    if (block?.kind !== "tool") return []
    // "`partial_json` fragments of a tool's input; parse at `content_block_stop`" — the views
    // parse; the end entry carries the whole input.
    if (block.input === "" && block.startInput !== "") {
      return [
        { type: "tool-call-delta", index: block.index, arguments: block.startInput },
        { type: "tool-call-end", index: block.index, arguments: block.startInput },
      ]
    }
    return [{ type: "tool-call-end", index: block.index, arguments: block.input || "{}" }]
  }

  private startBlock(at: number, block: unknown): Translation["entries"] {
    if (!isRecord(block)) return []
    switch (block.type) {
      case "tool_use": {
        const index = this.toolCallCount++
        const given = isRecord(block.input) && Object.keys(block.input).length > 0
        this.blocks.set(at, {
          kind: "tool",
          index,
          input: "",
          startInput: given ? JSON.stringify(block.input) : "",
        })
        const name = typeof block.name === "string" ? block.name : ""
        // A compatible server may leave the id out; the next turn still needs one, the same in
        // every view (the OpenAI SDK's stream helper would make up its own).
        const id = typeof block.id === "string" && block.id !== "" ? block.id : `${this.madeUpIds}${index}`
        return [{ type: "tool-call-start", index, id, name }]
      }
      case "redacted_thinking":
        this.blocks.set(at, { kind: "other" })
        return typeof block.data === "string" ? [{ type: "reasoning-redacted", data: block.data }] : []
      case "text":
        this.blocks.set(at, { kind: "other" })
        // The block usually starts empty (`"text": ""`) and fills through deltas.
        return typeof block.text === "string" && block.text !== ""
          ? [{ type: "text-delta", text: block.text }]
          : []
      case "thinking":
        this.blocks.set(at, {
          kind: "thinking",
          startSignature: typeof block.signature === "string" ? block.signature : "",
          signed: false,
        })
        return typeof block.thinking === "string" && block.thinking !== ""
          ? [{ type: "reasoning-delta", text: block.thinking }]
          : []
      default:
        // Server tool blocks (`server_tool_use`, `web_search_tool_result`…) run upstream: the
        // client has nothing to do with them, so they are not tool calls of this generation.
        this.blocks.set(at, { kind: "other" })
        return []
    }
  }

  private readDelta(at: number, delta: Record<string, unknown>): Translation["entries"] {
    switch (delta.type) {
      case "text_delta":
        return typeof delta.text === "string" && delta.text !== ""
          ? [{ type: "text-delta", text: delta.text }]
          : []
      case "thinking_delta":
        return typeof delta.thinking === "string" && delta.thinking !== ""
          ? [{ type: "reasoning-delta", text: delta.thinking }]
          : []
      case "signature_delta": {
        // An empty signature signs nothing (the block's start may still give one).
        if (typeof delta.signature !== "string" || delta.signature === "") return []
        const block = this.blocks.get(at)
        if (block?.kind === "thinking") block.signed = true
        return [{ type: "reasoning-signature", signature: delta.signature }]
      }
      case "citations_delta":
        return isRecord(delta.citation) ? [{ type: "citation", citation: delta.citation }] : []
      case "input_json_delta": {
        const block = this.blocks.get(at)
        if (block?.kind !== "tool" || typeof delta.partial_json !== "string" || delta.partial_json === "")
          return []
        block.input += delta.partial_json
        return [{ type: "tool-call-delta", index: block.index, arguments: delta.partial_json }]
      }
      default:
        return []
    }
  }
}

/** An error frame's `error`: an object (`type`, `message`), or its message alone as a string; else none. */
function errorOf(error: unknown): Record<string, unknown> | undefined {
  if (isRecord(error)) return error
  return typeof error === "string" ? { message: error } : undefined
}

/** The prompt's tokens in Anthropic's three parts, as far as the stream has told them. */
interface InputParts {
  fresh?: number
  cacheRead?: number
  cacheWrite?: number
}

/**
 * Usage from `message_start.message.usage` or `message_delta.usage`; both hold totals so far
 * ("`message_delta.usage.output_tokens` is cumulative"). The prompt's tokens are split three ways
 * (fresh, read from the cache, written to it), and a server may tell the parts in different
 * events: `parts` keeps what the stream told so far, and the entry counts them all.
 */
function usageOf(usage: unknown, parts: InputParts): Translation["entries"] {
  if (!isRecord(usage)) return []
  const told = {
    fresh: tokenCount(usage.input_tokens),
    cacheRead: tokenCount(usage.cache_read_input_tokens),
    cacheWrite: tokenCount(usage.cache_creation_input_tokens),
  }
  if (told.fresh !== undefined) parts.fresh = told.fresh
  if (told.cacheRead !== undefined) parts.cacheRead = told.cacheRead
  if (told.cacheWrite !== undefined) parts.cacheWrite = told.cacheWrite
  const { fresh, cacheRead, cacheWrite } = parts
  // The input counts again only when this event told something of them.
  const toldInput = Object.values(told).some((part) => part !== undefined)
  const outputTokens = tokenCount(usage.output_tokens)
  return [
    {
      type: "usage",
      ...(toldInput && fresh !== undefined && { inputTokens: fresh + (cacheRead ?? 0) + (cacheWrite ?? 0) }),
      ...(outputTokens !== undefined && { outputTokens }),
      ...(toldInput && cacheRead !== undefined && { cacheReadTokens: cacheRead }),
      ...(toldInput && cacheWrite !== undefined && { cacheWriteTokens: cacheWrite }),
    },
  ]
}
