import { readFrom } from "./client-fields.js"
import { outputEffort, thinkingRequest } from "./reasoning-settings.js"
import type {
  AssistantMessage,
  ImagePart,
  NormalizedMessage,
  NormalizedRequest,
  TextPart,
  ToolChoice,
} from "./request.js"
import { RequestFieldError } from "./request-field-error.js"
import {
  array,
  contentTexts,
  type JsonObject,
  object,
  onlySupportedFields,
  optionalBoolean,
  optionalNumber,
  optionalPositiveInteger,
  optionalString,
  string,
  systemPrompt,
  toolResultContent,
  typeName,
} from "./request-fields.js"
import { thinkingBlockPart } from "./thinking-blocks.js"
import { sentBackId } from "./thought-signature.js"

/** The Messages fields {@link fromAnthropicMessagesRequest} reads; any other is refused by name. */
const ANTHROPIC_FIELDS = new Set([
  "model",
  "messages",
  "system",
  "max_tokens",
  "stop_sequences",
  "temperature",
  "top_p",
  "top_k",
  "tools",
  "tool_choice",
  "thinking",
  "output_config",
  "stream",
  "metadata",
  // What tunes Anthropic's bill and placement, not the answer: accepted and not sent on.
  "cache_control",
  "service_tier",
  "inference_geo",
])

/** What Messages' `metadata` holds. */
const METADATA_FIELDS: ReadonlySet<string> = new Set(["user_id"])

/** Block fields that only tune Anthropic's own prompt cache: dropping them changes the bill, not the answer. */
const CACHE_CONTROL = "cache_control"

/**
 * The normalized request for a Messages body. Throws {@link RequestFieldError} naming the first
 * field that is invalid or that Herald does not translate (server tools, documents…). `stream` is read by the endpoint.
 * A user turn's tool results become `tool` messages, placed before the turn's other content.
 */
export function fromAnthropicMessagesRequest(input: unknown): NormalizedRequest {
  const body = object(input, "body")
  onlySupportedFields(body, ANTHROPIC_FIELDS)
  const request: NormalizedRequest = { model: string(body.model, "model"), messages: [] }
  array(body.messages, "messages").forEach((value, at) => {
    request.messages.push(...fromAnthropicMessage(object(value, `messages[${at}]`), `messages[${at}]`))
  })
  if (body.system !== undefined) Object.assign(request, systemPrompt(contentTexts(body.system, "system")))
  if (body.metadata !== undefined && body.metadata !== null) {
    const metadata = object(body.metadata, "metadata")
    onlySupportedFields(metadata, METADATA_FIELDS, "metadata.")
    const endUser = optionalString(metadata.user_id, "metadata.user_id")
    if (endUser !== undefined) request.endUser = endUser
  }
  const maxTokens = optionalPositiveInteger(body.max_tokens, "max_tokens")
  if (maxTokens !== undefined) request.maxTokens = maxTokens
  if (body.stop_sequences !== undefined) {
    request.stop = array(body.stop_sequences, "stop_sequences").map((each, at) =>
      string(each, `stop_sequences[${at}]`),
    )
  }
  const temperature = optionalNumber(body.temperature, "temperature")
  if (temperature !== undefined) request.temperature = temperature
  const topP = optionalNumber(body.top_p, "top_p")
  if (topP !== undefined) request.topP = topP
  const topK = optionalPositiveInteger(body.top_k, "top_k")
  if (topK !== undefined) request.topK = topK
  if (body.tools !== undefined) {
    request.tools = array(body.tools, "tools").map((value, at) => {
      const path = `tools[${at}]`
      const tool = object(value, path)
      // Server tools (`web_search_20250305`…) run at Anthropic: no other upstream has them.
      if (tool.type !== undefined && tool.type !== "custom") {
        throw new RequestFieldError(`${path}.type`, "only custom (client) tools are supported")
      }
      onlySupportedFields(
        tool,
        new Set(["type", "name", "description", "input_schema", CACHE_CONTROL]),
        `${path}.`,
      )
      const description = optionalString(tool.description, `${path}.description`)
      return {
        name: string(tool.name, `${path}.name`),
        ...(description !== undefined && { description }),
        parameters: object(tool.input_schema, `${path}.input_schema`),
      }
    })
  }
  if (body.tool_choice !== undefined) {
    request.toolChoice = fromAnthropicToolChoice(body.tool_choice)
    const disabled = optionalBoolean(
      object(body.tool_choice, "tool_choice").disable_parallel_tool_use,
      "tool_choice.disable_parallel_tool_use",
    )
    if (disabled !== undefined) request.parallelToolCalls = !disabled
  }
  if (body.thinking !== undefined) request.thinking = thinkingRequest(body.thinking, "thinking")
  if (body.output_config !== undefined) {
    const effort = outputEffort(body.output_config, "output_config")
    if (effort !== undefined) request.effort = effort
  }
  return request
}

function fromAnthropicMessage(message: JsonObject, path: string): NormalizedMessage[] {
  const role = string(message.role, `${path}.role`)
  if (role !== "user" && role !== "assistant") {
    throw new RequestFieldError(`${path}.role`, "must be user or assistant")
  }
  onlySupportedFields(message, new Set(["role", "content"]), `${path}.`)
  const blocks =
    typeof message.content === "string"
      ? [{ type: "text", text: message.content }]
      : array(message.content, `${path}.content`).map((each, at) => object(each, `${path}.content[${at}]`))
  if (role === "assistant") {
    // Thinking blocks are kept in their place with their signatures: Claude wants a tool turn's
    // back unchanged, and other servers want the reasoning's text.
    const content: AssistantMessage["content"] = []
    blocks.forEach((block, at) => {
      const blockPath = `${path}.content[${at}]`
      const thinking = thinkingBlockPart(block, blockPath)
      if (thinking !== undefined) content.push(thinking)
      else if (block.type === "text")
        content.push({ type: "text", text: string(block.text, `${blockPath}.text`) })
      else if (block.type === "tool_use") {
        const sent = sentBackId(string(block.id, `${blockPath}.id`))
        const inputField = `${blockPath}.input`
        content.push(
          readFrom(
            {
              type: "tool-call",
              id: sent.id,
              name: string(block.name, `${blockPath}.name`),
              arguments: JSON.stringify(object(block.input, inputField)),
              ...(sent.signature !== undefined && { thoughtSignature: sent.signature }),
            },
            inputField,
          ),
        )
      } else {
        throw new RequestFieldError(
          `${blockPath}.type`,
          `assistant blocks of type ${typeName(block.type)} are not supported`,
        )
      }
    })
    return [readFrom({ role, content }, `${path}.content`)]
  }
  const toolResults: NormalizedMessage[] = []
  const content: (TextPart | ImagePart)[] = []
  blocks.forEach((block, at) => {
    const blockPath = `${path}.content[${at}]`
    if (block.type === "text") content.push({ type: "text", text: string(block.text, `${blockPath}.text`) })
    else if (block.type === "image") content.push(imageOf(block, blockPath))
    else if (block.type === "tool_result") {
      toolResults.push({
        role: "tool",
        toolCallId: sentBackId(string(block.tool_use_id, `${blockPath}.tool_use_id`)).id,
        ...toolResultContent(
          block.content === undefined ? [] : contentTexts(block.content, `${blockPath}.content`),
        ),
        ...(block.is_error === true && { isError: true }),
      })
    } else {
      throw new RequestFieldError(
        `${blockPath}.type`,
        `user blocks of type ${typeName(block.type)} are not supported`,
      )
    }
  })
  return content.length > 0 ? [...toolResults, readFrom({ role, content }, `${path}.content`)] : toolResults
}

/**
 * `{"type": "image", "source": {"type": "base64", media_type, data} | {"type": "url", url}}` as a
 * URL, read from the field a bad one is named by (a base64 source's URL is bad for its media type).
 */
function imageOf(block: JsonObject, path: string): ImagePart {
  const source = object(block.source, `${path}.source`)
  if (source.type === "url") {
    const urlField = `${path}.source.url`
    return readFrom({ type: "image", url: string(source.url, urlField) }, urlField)
  }
  if (source.type !== "base64") throw new RequestFieldError(`${path}.source.type`, "must be base64 or url")
  const mediaTypeField = `${path}.source.media_type`
  const mediaType = string(source.media_type, mediaTypeField)
  const url = `data:${mediaType};base64,${string(source.data, `${path}.source.data`)}`
  return readFrom({ type: "image", url }, mediaTypeField)
}

function fromAnthropicToolChoice(value: unknown): ToolChoice {
  const choice = object(value, "tool_choice")
  switch (choice.type) {
    case "auto":
    case "none":
      return choice.type
    case "any":
      return "required"
    case "tool":
      return { name: string(choice.name, "tool_choice.name") }
    default:
      throw new RequestFieldError("tool_choice.type", "must be auto, any, tool or none")
  }
}
