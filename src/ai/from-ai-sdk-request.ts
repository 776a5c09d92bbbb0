import { readFrom } from "./client-fields.js"
import { sentBackDetails } from "./reasoning-details.js"
import { effortRequest } from "./reasoning-settings.js"
import type {
  AssistantMessage,
  NormalizedMessage,
  NormalizedRequest,
  ToolChoice,
  ToolDefinition,
  ToolResultMessage,
  UserMessage,
} from "./request.js"
import { RequestFieldError } from "./request-field-error.js"
import {
  array,
  contentTexts,
  type JsonObject,
  object,
  onlySupportedFields,
  optionalNumber,
  optionalObject,
  optionalPositiveInteger,
  optionalString,
  string,
  systemPrompt,
  typeName,
} from "./request-fields.js"
import { sentBackId, sentBackSignature } from "./thought-signature.js"

/**
 * What `useChat` (the AI SDK's `DefaultChatTransport`) posts: `id` (the chat), `messages` (UI
 * messages), `trigger`, `messageId`; plus what the app adds with the transport's `body` option.
 */
const AI_SDK_FIELDS = new Set([
  "id",
  "messages",
  "trigger",
  "messageId",
  "model",
  "system",
  "maxOutputTokens",
  "temperature",
  "reasoningEffort",
  "tools",
  "toolChoice",
])

/** A tool as the body declares it: the AI SDK's `tool()` fields that survive JSON. */
const TOOL_FIELDS = new Set(["description", "inputSchema"])

const TOOL_CHOICES = new Set(["auto", "none", "required"])

const TRIGGERS = new Set(["submit-message", "regenerate-message"])

/** The URL schemes an image file part may use (schemes are case-insensitive). */
const IMAGE_URL = /^(data|https):/i

/** Longest chat id accepted: it names the chat in `GET /v1/ai-sdk/chat/{chatId}/stream`. */
const MAX_CHAT_ID = 256

/** Longest id of a continued assistant message accepted: it is stored with the generation. */
const MAX_MESSAGE_ID = 256

/** An AI SDK chat request: the chat it belongs to and the request for the model. */
export interface AISdkChatRequest {
  readonly chatId: string
  readonly request: NormalizedRequest
  /**
   * The id of the assistant message the request continues (the last UI message is the
   * assistant's, as after `addToolOutput`): the answer's `messageId`, so that the chat adds the
   * answer to that message instead of showing a second one. `undefined` when the last message is
   * not the assistant's or has no id.
   */
  readonly continuedMessageId?: string
}

/**
 * Reads an AI SDK chat body. The model is `model` (set with the transport's `body` option), else
 * `defaultModel`. UI message parts become the request's messages: text, image files, and tool
 * calls with their output (each step of an assistant message is one assistant turn followed by
 * its tool results), and reasoning with the provider metadata that lets it go back to Claude;
 * sources, step markers and data parts are for the UI and are not sent to the model (as the AI
 * SDK's `convertToModelMessages` does). `reasoningEffort` is OpenAI's `reasoning_effort`. When the
 * last message is the assistant's, its id is the answer's (see {@link AISdkChatRequest}). Throws
 * {@link RequestFieldError} naming the first field that is invalid or not translated.
 */
export function fromAISdkChatRequest(input: unknown, defaultModel: string): AISdkChatRequest {
  const body = object(input, "body")
  onlySupportedFields(body, AI_SDK_FIELDS)
  const chatId = string(body.id, "id")
  if (chatId === "" || chatId.length > MAX_CHAT_ID) {
    throw new RequestFieldError("id", `must be 1 to ${MAX_CHAT_ID} characters`)
  }
  if (body.trigger !== undefined && !TRIGGERS.has(string(body.trigger, "trigger"))) {
    throw new RequestFieldError("trigger", "must be submit-message or regenerate-message")
  }
  optionalString(body.messageId, "messageId")
  const request: NormalizedRequest = {
    model: optionalString(body.model, "model") ?? defaultModel,
    messages: [],
  }
  const system: string[] = []
  const bodySystem = optionalString(body.system, "system")
  if (bodySystem !== undefined) system.push(bodySystem)
  const messages = array(body.messages, "messages")
  let continuedMessageId: string | undefined
  messages.forEach((value, at) => {
    const path = `messages[${at}]`
    const message = object(value, path)
    const parts = array(message.parts, `${path}.parts`).map((part, index) =>
      object(part, `${path}.parts[${index}]`),
    )
    const role = string(message.role, `${path}.role`)
    if (role === "system") system.push(...contentTexts(parts, `${path}.parts`))
    else if (role === "user") request.messages.push(userMessage(parts, path))
    else if (role === "assistant") {
      request.messages.push(...assistantTurns(parts, path))
      if (at === messages.length - 1) continuedMessageId = messageId(message.id, `${path}.id`)
    } else throw new RequestFieldError(`${path}.role`, `messages of role ${role} are not supported`)
  })
  Object.assign(request, systemPrompt(system))
  const maxTokens = optionalPositiveInteger(body.maxOutputTokens, "maxOutputTokens")
  if (maxTokens !== undefined) request.maxTokens = maxTokens
  const temperature = optionalNumber(body.temperature, "temperature")
  if (temperature !== undefined) request.temperature = temperature
  Object.assign(request, effortRequest(body.reasoningEffort, "reasoningEffort"))
  const declared = body.tools === undefined ? [] : tools(body.tools)
  if (declared.length > 0) request.tools = declared
  const choice = body.toolChoice === undefined ? undefined : toolChoice(body.toolChoice, declared)
  if (choice !== undefined) request.toolChoice = choice
  return { chatId, request, ...(continuedMessageId !== undefined && { continuedMessageId }) }
}

/**
 * A continued message's id: a string of 1 to {@link MAX_MESSAGE_ID} characters, or `undefined`
 * when left out (the AI SDK always sends one; a hand-written client may not).
 */
function messageId(value: unknown, path: string): string | undefined {
  const id = optionalString(value, path)
  if (id !== undefined && (id === "" || id.length > MAX_MESSAGE_ID))
    throw new RequestFieldError(path, `must be 1 to ${MAX_MESSAGE_ID} characters`)
  return id
}

/**
 * The tools the model may call, for tools the page runs itself (`onToolCall`, then
 * `addToolOutput`): `{name: {description?, inputSchema}}`, as `tool()` declares them in the AI
 * SDK, with the input schema as JSON Schema (a Zod schema does not survive JSON:
 * `z.toJSONSchema(schema)` gives it).
 */
function tools(value: unknown): ToolDefinition[] {
  return Object.entries(object(value, "tools")).map(([name, declared]) => {
    const path = `tools.${name}`
    const tool = object(declared, path)
    onlySupportedFields(tool, TOOL_FIELDS, `${path}.`)
    const description = optionalString(tool.description, `${path}.description`)
    return {
      name,
      ...(description === undefined ? {} : { description }),
      parameters: object(tool.inputSchema, `${path}.inputSchema`),
    }
  })
}

/**
 * The AI SDK's `toolChoice` among the `declared` tools: `auto`, `none`, `required`, or `{type:
 * "tool", toolName}`. Without tools, `auto` and `none` say nothing (left out: upstreams refuse a
 * choice without tools); `required` and a named tool cannot be met.
 */
function toolChoice(value: unknown, declared: readonly ToolDefinition[]): ToolChoice | undefined {
  if (typeof value === "string") {
    if (!TOOL_CHOICES.has(value))
      throw new RequestFieldError("toolChoice", "must be auto, none, required or a tool")
    if (declared.length > 0) return value as ToolChoice
    if (value === "required") throw new RequestFieldError("toolChoice", "required needs tools")
    return undefined
  }
  const choice = object(value, "toolChoice")
  if (choice.type !== "tool") throw new RequestFieldError("toolChoice.type", "must be tool")
  const name = string(choice.toolName, "toolChoice.toolName")
  if (!declared.some((tool) => tool.name === name))
    throw new RequestFieldError("toolChoice.toolName", `names no tool of tools (${name})`)
  return { name }
}

/**
 * A reasoning part as its turn sends it back: with Claude's signature, as Claude's encrypted
 * reasoning, or as OpenRouter's reasoning details, where Herald's view gave it provider metadata
 * (`anthropic.signature`, `anthropic.redactedData`, `openrouter.reasoning_details`: the names of
 * the AI SDK's Anthropic and OpenRouter providers).
 */
function reasoningPart(part: JsonObject, path: string): AssistantMessage["content"][number] {
  const text = string(part.text, `${path}.text`)
  const metadataPath = `${path}.providerMetadata`
  const metadata = optionalObject(part.providerMetadata, metadataPath)
  const anthropic = optionalObject(metadata.anthropic, `${metadataPath}.anthropic`)
  const openrouter = optionalObject(metadata.openrouter, `${metadataPath}.openrouter`)
  const details = sentBackDetails(
    openrouter.reasoning_details,
    `${metadataPath}.openrouter.reasoning_details`,
  )
  if (details.length > 0) return { type: "reasoning-details", details }
  const redacted = optionalString(anthropic.redactedData, `${metadataPath}.anthropic.redactedData`)
  if (redacted !== undefined) return { type: "redacted-reasoning", data: redacted }
  const signature = optionalString(anthropic.signature, `${metadataPath}.anthropic.signature`)
  return { type: "reasoning", text, ...(signature !== undefined && signature !== "" && { signature }) }
}

/** Parts the model never sees in a user message (an assistant turn's reasoning is read before). */
function uiOnly(part: JsonObject): boolean {
  const type = typeof part.type === "string" ? part.type : ""
  return (
    type === "reasoning" ||
    type === "step-start" ||
    type === "source-url" ||
    type === "source-document" ||
    type.startsWith("data-")
  )
}

function userMessage(parts: readonly JsonObject[], path: string): UserMessage {
  const content: UserMessage["content"] = []
  parts.forEach((part, at) => {
    const partPath = `${path}.parts[${at}]`
    if (part.type === "text") content.push({ type: "text", text: string(part.text, `${partPath}.text`) })
    else if (part.type === "file") {
      const mediaType = string(part.mediaType, `${partPath}.mediaType`)
      if (!mediaType.startsWith("image/"))
        throw new RequestFieldError(`${partPath}.mediaType`, "only image files are supported")
      const urlField = `${partPath}.url`
      const url = string(part.url, urlField)
      // A blob: or file: URL means nothing outside the page's browser; http: would travel in clear.
      if (!IMAGE_URL.test(url))
        throw new RequestFieldError(urlField, "an image must be a data: or https: URL")
      content.push(readFrom({ type: "image", url }, urlField))
    } else if (!uiOnly(part)) {
      throw new RequestFieldError(
        `${partPath}.type`,
        `parts of type ${typeName(part.type)} are not supported`,
      )
    }
  })
  return readFrom({ role: "user", content }, `${path}.parts`)
}

/** An assistant UI message: one assistant turn per step, each followed by its tool results. */
function assistantTurns(parts: readonly JsonObject[], path: string): NormalizedMessage[] {
  const turns: NormalizedMessage[] = []
  let content: AssistantMessage["content"] = []
  let results: ToolResultMessage[] = []
  const endStep = (): void => {
    // A step of reasoning alone (an answer stopped while it thought) is no turn to send back.
    if (content.some((part) => part.type === "text" || part.type === "tool-call"))
      turns.push({ role: "assistant", content }, ...results)
    content = []
    results = []
  }
  parts.forEach((part, at) => {
    const partPath = `${path}.parts[${at}]`
    const type = typeof part.type === "string" ? part.type : ""
    if (type === "step-start") endStep()
    else if (type === "reasoning") content.push(reasoningPart(part, partPath))
    else if (type === "text") {
      const text = string(part.text, `${partPath}.text`)
      if (text !== "") content.push({ type: "text", text })
    } else if (type === "dynamic-tool" || type.startsWith("tool-")) {
      const sent = sentBackId(string(part.toolCallId, `${partPath}.toolCallId`))
      const name = type === "dynamic-tool" ? string(part.toolName, `${partPath}.toolName`) : type.slice(5)
      if (part.state !== "output-available" && part.state !== "output-error") {
        throw new RequestFieldError(
          `${partPath}.state`,
          "a tool call sent back to the model needs its result (output-available or output-error)",
        )
      }
      const thoughtSignature =
        sentBackSignature(
          part.callProviderMetadata,
          `${partPath}.callProviderMetadata`,
          "thoughtSignature",
        ) ?? sent.signature
      content.push(
        readFrom(
          {
            type: "tool-call",
            id: sent.id,
            name,
            arguments: JSON.stringify(part.input ?? {}),
            ...(thoughtSignature !== undefined && { thoughtSignature }),
          },
          `${partPath}.input`,
        ),
      )
      results.push(
        part.state === "output-error"
          ? {
              role: "tool",
              toolCallId: sent.id,
              content: string(part.errorText, `${partPath}.errorText`),
              isError: true,
            }
          : {
              role: "tool",
              toolCallId: sent.id,
              content: typeof part.output === "string" ? part.output : JSON.stringify(part.output ?? null),
            },
      )
    } else if (!uiOnly(part)) {
      throw new RequestFieldError(
        `${partPath}.type`,
        `parts of type ${typeName(part.type)} are not supported`,
      )
    }
  })
  endStep()
  return turns
}
