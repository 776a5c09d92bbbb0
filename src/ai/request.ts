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

/** A user turn: text and images. */
export interface UserMessage {
  role: "user"
  content: (TextPart | ImagePart)[]
}

/** An earlier assistant turn: text and the tool calls it made. */
export interface AssistantMessage {
  role: "assistant"
  content: (TextPart | ToolCallPart)[]
  /**
   * The reasoning that came with the turn (OpenAI-style `reasoning_content`), sent back only to
   * the servers that ask for it with a turn's tool calls (DeepSeek's thinking mode).
   */
  reasoning?: string
}

/** The result of the tool call `toolCallId`, as text. */
export interface ToolResultMessage {
  role: "tool"
  toolCallId: string
  content: string
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
  | { type: "json_schema"; name: string; schema: Record<string, unknown>; strict?: boolean }

/** A generation request, provider-neutral. Optional fields left out mean the provider's default. */
export interface NormalizedRequest {
  /** The upstream's model name (a configured alias is resolved before the provider sees it). */
  model: string
  /** The system prompt (OpenAI `system`/`developer` messages; Anthropic `system`). */
  system?: string
  messages: NormalizedMessage[]
  tools?: ToolDefinition[]
  toolChoice?: ToolChoice
  /** Sequences that end the answer when produced. */
  stop?: string[]
  /** The most tokens the answer may have. Anthropic requires one: its adapter supplies a default. */
  maxTokens?: number
  temperature?: number
  topP?: number
  responseFormat?: ResponseFormat
}
