/**
 * The request a provider is asked to answer, in one shape whatever format the client used. The
 * OpenAI and Anthropic request bodies translate to and from it (see docs/ai.md for the fields
 * supported in each direction).
 *
 * @packageDocumentation
 */

/** Visible text, in a message of any role. */
export interface TextPart {
  type: "text"
  text: string
}

/** An image, by `https:` URL or `data:` URL (base64), in a user message. */
export interface ImagePart {
  type: "image"
  url: string
}

/** A tool call the assistant made on an earlier turn; `arguments` is its JSON text. */
export interface ToolCallPart {
  type: "tool-call"
  id: string
  name: string
  arguments: string
  /** Gemini's thought signature of the call, to be given back as it came (thought-signature.ts). */
  thoughtSignature?: string
}

/**
 * Reasoning the assistant showed on an earlier turn. Claude signs each thinking block, and takes
 * it back only with its `signature`, unchanged: an unsigned one is not sent to an Anthropic
 * upstream.
 */
export interface ReasoningPart {
  type: "reasoning"
  text: string
  signature?: string
}

/** Reasoning an upstream gave only encrypted (Anthropic's `redacted_thinking`), to be sent back as it came. */
export interface RedactedReasoningPart {
  type: "redacted-reasoning"
  data: string
}

/** OpenRouter's `reasoning_details` of an earlier turn, to be sent back unmodified (reasoning-details.ts). */
export interface ReasoningDetailsPart {
  type: "reasoning-details"
  details: Record<string, unknown>[]
}

/** A user turn: text and images. */
export interface UserMessage {
  role: "user"
  content: (TextPart | ImagePart)[]
}

/** An earlier assistant turn: its reasoning, text and the tool calls it made, in their order. */
export interface AssistantMessage {
  role: "assistant"
  content: (ReasoningPart | RedactedReasoningPart | ReasoningDetailsPart | TextPart | ToolCallPart)[]
}

/** The result of the tool call `toolCallId`, as text. */
export interface ToolResultMessage {
  role: "tool"
  toolCallId: string
  /** The result's text: its {@link contentBlocks} joined when it came in several. */
  content: string
  /** The result's texts as the client gave them apart (text blocks or parts), when several: Messages keeps them apart. */
  contentBlocks?: string[]
  isError?: boolean
}

/** One turn of the conversation. The system prompt is not a message: see {@link NormalizedRequest.system}. */
export type NormalizedMessage = UserMessage | AssistantMessage | ToolResultMessage

/** A function the model may call. `parameters` is a JSON Schema of its arguments object. */
export interface ToolDefinition {
  name: string
  description?: string
  parameters: Record<string, unknown>
  /** OpenAI's `strict`: the arguments must follow `parameters` exactly (structured outputs). */
  strict?: boolean
}

/** Whether and which tool the model must call: `auto` (it chooses), `none`, `required` (some tool), or one by name. */
export type ToolChoice = "auto" | "none" | "required" | { name: string }

/** The shape the answer must take. */
export type ResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | {
      type: "json_schema"
      name: string
      /** What the answer is for: the model reads it to decide how to answer. */
      description?: string
      schema: Record<string, unknown>
      strict?: boolean
    }

/**
 * Whether the model thinks before it answers (Anthropic's `thinking`): on with a budget of tokens
 * for it, on as much as the model judges (`adaptive`), or off. `display` is Anthropic's choice
 * between summarized thinking and none shown (the signature still comes).
 */
export type Thinking =
  | { type: "enabled"; budgetTokens: number; display?: string }
  | { type: "adaptive"; display?: string }
  | { type: "disabled" }

/** A generation request, provider-neutral. Optional fields left out mean the provider's default. */
export interface NormalizedRequest {
  /** The upstream's model name (a configured alias is resolved before the provider sees it). */
  model: string
  /** The system prompt (OpenAI `system`/`developer` messages; Anthropic `system`): its {@link systemBlocks} joined when it came in several. */
  system?: string
  /**
   * The system prompt's texts as the client gave them apart (Anthropic's text blocks, OpenAI's
   * messages and their text parts), when several: Messages keeps them apart, as blocks.
   */
  systemBlocks?: string[]
  messages: NormalizedMessage[]
  tools?: ToolDefinition[]
  toolChoice?: ToolChoice
  /**
   * Whether the model may call several tools in one turn (OpenAI's `parallel_tool_calls`,
   * Anthropic's `tool_choice.disable_parallel_tool_use` the other way round).
   */
  parallelToolCalls?: boolean
  /** Sequences that end the answer when produced. */
  stop?: string[]
  /** The most tokens the answer may have. Anthropic requires one: its adapter supplies a default. */
  maxTokens?: number
  temperature?: number
  topP?: number
  /**
   * Sampling settings one format has and the other has not: Chat Completions' penalties, `seed`
   * and `logit_bias`, Messages' `top_k` (which vLLM's clients send in Chat Completions bodies
   * too). They go to an upstream of the format that has them (`top_k` also to a Chat Completions
   * server whose model takes it); for the other, the request is refused naming the field.
   */
  frequencyPenalty?: number
  presencePenalty?: number
  seed?: number
  logitBias?: Record<string, number>
  topK?: number
  /** GPT-5's `verbosity` (`low`, `medium`, `high`): to a Chat Completions upstream; refused for Messages. */
  verbosity?: string
  /**
   * Chat Completions settings that tune OpenAI's service, not the answer: `service_tier`,
   * `prompt_cache_key`, `safety_identifier`, `store` and `metadata`, as the client sent them. They
   * go on to a Chat Completions upstream and are left out for Messages (as Messages' own
   * `service_tier` is left out for Chat Completions).
   */
  serviceSettings?: Record<string, unknown>
  /**
   * Who the client's end user is, for the provider's abuse monitoring: OpenAI's `user`,
   * Anthropic's `metadata.user_id`; it goes on as the upstream's own field.
   */
  endUser?: string
  responseFormat?: ResponseFormat
  thinking?: Thinking
  /**
   * How much effort the model spends (OpenAI's `reasoning_effort`, Anthropic's
   * `output_config.effort`): `low`, `medium`, `high` and the like, as the upstream names them.
   */
  effort?: string
}

/**
 * Texts a client gave apart (blocks, parts, messages) as one, for a field that takes one text: as
 * paragraphs, so that they do not run together.
 */
export function joinTexts(texts: readonly string[]): string {
  return texts.join("\n\n")
}

/** The texts that say something: an empty one adds nothing, and Messages refuses an empty text block. */
export function nonEmptyTexts(texts: readonly string[]): string[] {
  return texts.filter((text) => text !== "")
}
