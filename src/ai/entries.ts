/**
 * The normalized entries of a generation: what every provider adapter yields and what a
 * generation's log will hold, whatever the upstream spoke. Three views render them later:
 *
 * - **OpenAI chunks** (`chat.completion.chunk`): `text-delta` → `delta.content`; `refusal-delta` → `delta.refusal`; `reasoning-delta`
 *   → `delta.reasoning_content`; `tool-call-start` → `delta.tool_calls[{index, id, type:
 *   "function", function: {name, arguments: ""}}]` (and a thought signature's `extra_content`;
 *   every view gives a signed call's id with its signature, thought-signature.ts);
 *   `tool-call-delta` → `delta.tool_calls[{index, function: {arguments}}]`; `tool-call-end`
 *   renders nothing but a late thought signature; `finish` → `finish_reason`
 *   (`pause` and `other` become `stop`); the last `usage` → the `choices: []` usage chunk;
 *   `error` → `data: {"error": {...}}`; signed and encrypted thinking → the finish chunk's
 *   `thinking_blocks`, `reasoning-details` → `delta.reasoning_details` in one chunk. Citations
 *   have no place there and are left out.
 * - **Anthropic events**: the view opens a content block whenever the kind of entry changes
 *   (text, reasoning, a tool call by its `index`) and closes the previous one
 *   (`content_block_stop`): `text-delta` and `refusal-delta` → `text_delta`; `reasoning-delta` → a `thinking` block's
 *   `thinking_delta`; `reasoning-signature` → `signature_delta` of the open thinking block (of a new one after a signature);
 *   `reasoning-redacted` → a `redacted_thinking` block; `citation` → `citations_delta`;
 *   `tool-call-start` → `tool_use` block (id, name); `tool-call-delta` → `input_json_delta`;
 *   `finish` and the last `usage` → `message_delta` (stop_reason mapped back, `stop_sequence`,
 *   cumulative `output_tokens`) then `message_stop`; the first `usage` fills `message_start`;
 *   `error` → `event: error`.
 * - **AI SDK UI message stream**: like Anthropic's blocks, a change of kind closes a part:
 *   `text-start|delta|end` (refusals too), `reasoning-start|delta|end`; `reasoning-signature` →
 *   the reasoning part's provider metadata `anthropic.signature`, `reasoning-redacted` → a
 *   reasoning part with `anthropic.redactedData`, `reasoning-details` an empty one with
 *   `openrouter.reasoning_details`; `tool-call-start` → `tool-input-start`
 *   (toolCallId, toolName); `tool-call-delta` → `tool-input-delta`; `tool-call-end` →
 *   `tool-input-available` with `JSON.parse(arguments)` (and a thought signature as provider
 *   metadata) — which is why the end entry carries the whole arguments, so no view has to hold
 *   them; `finish` → `finish-step` + `finish`; `error`
 *   → `error` (errorText).
 *
 * Entries carry no ids, model names or timestamps: those belong to the generation's record, and
 * each view makes its own ids (`chatcmpl-{generation}`, block indexes, part ids).
 *
 * @packageDocumentation
 */

/** A fragment of the answer's visible text. */
export interface TextDeltaEntry {
  type: "text-delta"
  text: string
}

/**
 * A fragment of the model's refusal to answer (OpenAI's `delta.refusal`, with structured outputs):
 * text a client shows, kept apart so that an OpenAI client finds it in `refusal`, not in the
 * content it would parse.
 */
export interface RefusalDeltaEntry {
  type: "refusal-delta"
  text: string
}

/** A fragment of the model's reasoning (OpenAI-compatible `reasoning_content`/`reasoning`, Anthropic `thinking`). */
export interface ReasoningDeltaEntry {
  type: "reasoning-delta"
  text: string
}

/**
 * The signature that closes an Anthropic thinking block (its one `signature_delta`), whole; it
 * belongs to the reasoning before it and must be sent back with it on the next turn. One after a
 * signed block is the next block's, a block with no text.
 */
export interface ReasoningSignatureEntry {
  type: "reasoning-signature"
  signature: string
}

/** Reasoning the provider only returns encrypted (Anthropic `redacted_thinking`'s `data`). */
export interface ReasoningRedactedEntry {
  type: "reasoning-redacted"
  data: string
}

/**
 * OpenRouter's `reasoning_details` of the answer, its fragments joined (reasoning-details.ts):
 * signed and encrypted reasoning to be sent back with the turn. One entry before the finish; what
 * comes after the finish, another at the stream's end, which consumers join to the first.
 */
export interface ReasoningDetailsEntry {
  type: "reasoning-details"
  details: Record<string, unknown>[]
}

/** A citation added to the text before it (Anthropic `citations_delta`), as the provider sent it. */
export interface CitationEntry {
  type: "citation"
  citation: Record<string, unknown>
}

/**
 * A tool call begins. `index` numbers the generation's tool calls 0, 1, 2… in the order they
 * start (OpenAI's `tool_calls[].index`; Anthropic's content-block index is not it, since text
 * blocks count there too); the deltas and the end of this call carry the same index.
 */
export interface ToolCallStartEntry {
  type: "tool-call-start"
  index: number
  /** The provider's tool call id (`call_…`, `toolu_…`), which the next turn's tool result names. */
  id: string
  name: string
  /** Gemini's thought signature of the call (thought-signature.ts), when it came with the call's start. */
  thoughtSignature?: string
}

/** A fragment of a tool call's arguments, a JSON text once all fragments are concatenated. */
export interface ToolCallDeltaEntry {
  type: "tool-call-delta"
  index: number
  arguments: string
}

/** A tool call's arguments are complete. `arguments` is the concatenation of its deltas (`"{}"` when there were none). */
export interface ToolCallEndEntry {
  type: "tool-call-end"
  index: number
  arguments: string
  /** Gemini's thought signature of the call, when it came after the call's start. */
  thoughtSignature?: string
}

/**
 * Token counts. **Cumulative**: each usage entry gives the totals so far (as OpenAI's usage
 * chunk and Anthropic's `message_delta.usage.output_tokens` do), so a later entry replaces an
 * earlier one and nothing is summed; a field left out is unknown in this entry, not zero.
 * `inputTokens` counts the whole prompt, cached parts included (Anthropic's `input_tokens` +
 * `cache_creation_input_tokens` + `cache_read_input_tokens`, like OpenAI's `prompt_tokens`).
 * May come before or after `finish`; OpenAI sends its usage chunk after the finish chunk.
 */
export interface UsageEntry {
  type: "usage"
  inputTokens?: number
  outputTokens?: number
  /** The part of `inputTokens` read from the provider's prompt cache (OpenAI's `cached_tokens`, Anthropic's `cache_read_input_tokens`). */
  cacheReadTokens?: number
  /** The part of `inputTokens` written to Anthropic's prompt cache (`cache_creation_input_tokens`), billed apart. */
  cacheWriteTokens?: number
  /** The part of `outputTokens` the model spent reasoning (OpenAI's `completion_tokens_details.reasoning_tokens`). */
  reasoningTokens?: number
}

/**
 * A token count as an upstream gave it: a whole number of at least 0, else unknown. A server
 * that sends `-7` or `1e999` has not told how many tokens it used, and the metrics cannot count it.
 */
export function tokenCount(value: unknown): number | undefined {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : undefined
}

/** `next` over `previous` (usage is cumulative): its counts win, a count it leaves out stays known. */
export function laterUsage(previous: UsageEntry | undefined, next: UsageEntry): UsageEntry {
  const merged: UsageEntry = { ...previous, type: "usage" }
  if (next.inputTokens !== undefined) merged.inputTokens = next.inputTokens
  if (next.outputTokens !== undefined) merged.outputTokens = next.outputTokens
  if (next.cacheReadTokens !== undefined) merged.cacheReadTokens = next.cacheReadTokens
  if (next.cacheWriteTokens !== undefined) merged.cacheWriteTokens = next.cacheWriteTokens
  if (next.reasoningTokens !== undefined) merged.reasoningTokens = next.reasoningTokens
  return merged
}

/**
 * Why the model stopped: `stop` (end of turn or a stop sequence), `length` (max tokens or the
 * context window), `tool_calls`, `content_filter` (filtered or refused), `pause` (Anthropic's
 * `pause_turn`: a server tool paused the turn), `other` (a reason this list does not know; see
 * `rawReason`).
 */
export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "pause" | "other"

/** The model finished its answer. At most one per generation; no content entry follows it. */
export interface FinishEntry {
  type: "finish"
  reason: FinishReason
  /** The provider's own word (`end_turn`, `max_tokens`, `stop`…), for a view of the same provider. */
  rawReason: string
  /** The stop sequence that ended the answer, when the provider said which (Anthropic). */
  stopSequence?: string
}

/**
 * The upstream failed after it had answered 200, or sent something unreadable (a malformed frame,
 * a stream cut before its end). Ends the entries: nothing follows it.
 */
export interface ErrorEntry {
  type: "error"
  message: string
  /** The provider's error type (`overloaded_error`, `server_error`…), or Herald's (`malformed_frame`, `stream_cut`, `protocol_error`, `demo_error`). */
  errorType?: string
  /** The provider's error code, when it gave one (OpenAI's `code`, vLLM's numeric `code` as text). */
  code?: string
  /**
   * Whether text, reasoning or a tool call came before the error, so a client may have seen part
   * of the answer. When false, an endpoint that has not sent its response head yet may still
   * answer with an HTTP error status instead of an error frame.
   */
  afterOutput: boolean
}

/** One normalized entry of a generation. */
export type Entry =
  | TextDeltaEntry
  | RefusalDeltaEntry
  | ReasoningDeltaEntry
  | ReasoningSignatureEntry
  | ReasoningRedactedEntry
  | ReasoningDetailsEntry
  | CitationEntry
  | ToolCallStartEntry
  | ToolCallDeltaEntry
  | ToolCallEndEntry
  | UsageEntry
  | FinishEntry
  | ErrorEntry

/** Whether an entry is part of the answer a client sees (so an error after it is an error mid-answer). */
export function isOutputEntry(entry: Entry): boolean {
  return entry.type !== "usage" && entry.type !== "finish" && entry.type !== "error"
}
