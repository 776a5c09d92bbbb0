import { readFrom } from "./client-fields.js"
import { sentBackDetails } from "./reasoning-details.js"
import { effortRequest } from "./reasoning-settings.js"
import {
  type AssistantMessage,
  type ImagePart,
  type NormalizedMessage,
  type NormalizedRequest,
  nonEmptyTexts,
  type ResponseFormat,
  type TextPart,
  type ToolChoice,
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
  optionalObject,
  optionalPositiveInteger,
  optionalString,
  setSupportedFields,
  string,
  systemPrompt,
  toolResultContent,
  typeName,
} from "./request-fields.js"
import { thinkingBlockPart } from "./thinking-blocks.js"
import { sentBackId, sentBackSignature } from "./thought-signature.js"

/** Fields that tune OpenAI's service, not the answer (see {@link NormalizedRequest.serviceSettings}). */
const SERVICE_SETTINGS = ["service_tier", "prompt_cache_key", "safety_identifier", "store", "metadata"]

/** The Chat Completions fields {@link fromOpenAIChatRequest} reads; any other is refused by name. */
const OPENAI_FIELDS = new Set([
  "model",
  "messages",
  "stream",
  "stream_options",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  // Not OpenAI's: vLLM's and llama.cpp's, which OpenAI clients send as an extra body field.
  "top_k",
  "stop",
  "tools",
  "tool_choice",
  "response_format",
  "reasoning_effort",
  "parallel_tool_calls",
  "frequency_penalty",
  "presence_penalty",
  "seed",
  "logit_bias",
  "verbosity",
  ...SERVICE_SETTINGS,
  "n",
  "user",
])

/** {@link OPENAI_FIELDS} and `logprobs`, for a body whose `logprobs` is false, its default. */
const OPENAI_FIELDS_AND_LOGPROBS = new Set([...OPENAI_FIELDS, "logprobs"])

/** The fields a message of each role Herald translates may set; any other is refused by name. */
const MESSAGE_FIELDS = {
  system: new Set(["role", "content"]),
  developer: new Set(["role", "content"]),
  user: new Set(["role", "content"]),
  // What an answer of Herald's (or OpenAI's) holds besides, so that a client may send its
  // `choices[0].message` back as it came: reasoning is kept for the servers that want it back
  // (signed, from `thinking_blocks`, when there are any), a refusal is what the model said,
  // openai-node's `finalMessage()` adds `parsed`, and `annotations` (an answer's URL
  // citations) only point into its text, which goes as it is.
  assistant: new Set([
    "role",
    "content",
    "tool_calls",
    "refusal",
    "reasoning_content",
    "thinking_blocks",
    "reasoning_details",
    "parsed",
    "annotations",
  ]),
  tool: new Set(["role", "content", "tool_call_id"]),
}

type MessageRole = keyof typeof MESSAGE_FIELDS

const isMessageRole = (role: string): role is MessageRole => Object.hasOwn(MESSAGE_FIELDS, role)

/**
 * The normalized request for a Chat Completions body. Throws {@link RequestFieldError} naming
 * the first field that is invalid or that Herald does not translate (`n` other than 1, `logprobs`,
 * audio parts…). `stream` and `stream_options` are read by the
 * endpoint, not the model, and left out here.
 */
export function fromOpenAIChatRequest(input: unknown): NormalizedRequest {
  const body = askedFields(object(input, "body"))
  if (body.n !== undefined && body.n !== 1) {
    throw new RequestFieldError("n", "only one choice per request is supported")
  }
  const request: NormalizedRequest = { model: string(body.model, "model"), messages: [] }
  const system: string[] = []
  array(body.messages, "messages").forEach((value, at) => {
    const path = `messages[${at}]`
    const sent = object(value, path)
    const role = string(sent.role, `${path}.role`)
    if (!isMessageRole(role))
      throw new RequestFieldError(`${path}.role`, `messages of role ${role} are not supported`)
    // A message's null fields are not set either (`"name": null`, an assistant's `"function_call": null`).
    const message = setSupportedFields(sent, MESSAGE_FIELDS[role], `${path}.`)
    if (role === "system" || role === "developer")
      system.push(...contentTexts(message.content, `${path}.content`))
    else request.messages.push(readFrom(fromOpenAIMessage(role, message, path), `${path}.content`))
  })
  Object.assign(request, systemPrompt(system))
  if (body.tools !== undefined) {
    request.tools = array(body.tools, "tools").map((value, at) => {
      const path = `tools[${at}]`
      const tool = object(value, path)
      onlySupportedFields(tool, new Set(["type", "function"]), `${path}.`)
      if (tool.type !== "function")
        throw new RequestFieldError(`${path}.type`, "only function tools are supported")
      const fn = object(tool.function, `${path}.function`)
      onlySupportedFields(fn, new Set(["name", "description", "parameters", "strict"]), `${path}.function.`)
      const description = optionalString(fn.description, `${path}.function.description`)
      if (fn.strict !== undefined && fn.strict !== null && typeof fn.strict !== "boolean")
        throw new RequestFieldError(`${path}.function.strict`, "must be a boolean")
      return {
        name: string(fn.name, `${path}.function.name`),
        ...(description !== undefined && { description }),
        parameters: toolParameters(fn.parameters, `${path}.function.parameters`),
        ...(fn.strict === true && { strict: true }),
      }
    })
  }
  if (body.tool_choice !== undefined) request.toolChoice = fromOpenAIToolChoice(body.tool_choice)
  const parallelToolCalls = optionalBoolean(body.parallel_tool_calls, "parallel_tool_calls")
  if (parallelToolCalls !== undefined) request.parallelToolCalls = parallelToolCalls
  if (body.stop !== undefined) {
    request.stop =
      typeof body.stop === "string"
        ? [body.stop]
        : array(body.stop, "stop").map((each, at) => string(each, `stop[${at}]`))
  }
  const maxTokens =
    optionalPositiveInteger(body.max_completion_tokens, "max_completion_tokens") ??
    optionalPositiveInteger(body.max_tokens, "max_tokens")
  if (maxTokens !== undefined) request.maxTokens = maxTokens
  const temperature = optionalNumber(body.temperature, "temperature")
  if (temperature !== undefined) request.temperature = temperature
  const topP = optionalNumber(body.top_p, "top_p")
  if (topP !== undefined) request.topP = topP
  // vLLM's -1 (and 0) mean every token: its default, left out like the zero penalties below.
  const topK = body.top_k === -1 || body.top_k === 0 ? undefined : optionalNumber(body.top_k, "top_k")
  if (topK !== undefined && !(Number.isSafeInteger(topK) && topK >= 1))
    throw new RequestFieldError("top_k", "must be -1 or 0 (every token), or a whole number of at least 1")
  if (topK !== undefined) request.topK = topK
  // A penalty of 0 and an empty bias are the defaults: clients send them explicitly, and they say
  // nothing an upstream without them would need.
  const frequencyPenalty = optionalNumber(body.frequency_penalty, "frequency_penalty")
  if (frequencyPenalty !== undefined && frequencyPenalty !== 0) request.frequencyPenalty = frequencyPenalty
  const presencePenalty = optionalNumber(body.presence_penalty, "presence_penalty")
  if (presencePenalty !== undefined && presencePenalty !== 0) request.presencePenalty = presencePenalty
  const seed = optionalNumber(body.seed, "seed")
  if (seed !== undefined && !Number.isSafeInteger(seed))
    throw new RequestFieldError("seed", "must be a whole number")
  if (seed !== undefined) request.seed = seed
  const bias = optionalObject(body.logit_bias, "logit_bias")
  if (Object.keys(bias).length > 0) {
    request.logitBias = Object.fromEntries(
      Object.entries(bias).map(([token, value]) => {
        if (typeof value !== "number" || !Number.isFinite(value))
          throw new RequestFieldError(`logit_bias.${token}`, "must be a number")
        return [token, value]
      }),
    )
  }
  if (body.response_format !== undefined)
    request.responseFormat = fromOpenAIResponseFormat(body.response_format)
  const verbosity = optionalString(body.verbosity, "verbosity")
  if (verbosity !== undefined) request.verbosity = verbosity
  const endUser = optionalString(body.user, "user")
  if (endUser !== undefined) request.endUser = endUser
  const service = Object.fromEntries(
    SERVICE_SETTINGS.flatMap((field) =>
      body[field] === undefined || body[field] === null ? [] : [[field, serviceSetting(field, body[field])]],
    ),
  )
  if (Object.keys(service).length > 0) request.serviceSettings = service
  Object.assign(request, effortRequest(body.reasoning_effort, "reasoning_effort"))
  return request
}

/**
 * A function tool's `parameters`. One left out (or empty) takes no arguments: that is an object
 * schema without properties, the form Messages requires (`type: "object"`; it refuses `{}`).
 */
function toolParameters(value: unknown, path: string): Record<string, unknown> {
  const schema = optionalObject(value, path)
  return Object.keys(schema).length === 0 ? { type: "object", properties: {} } : schema
}

/**
 * The fields of `body` that ask for something, each one of {@link OPENAI_FIELDS}: the set ones
 * ({@link setSupportedFields}: Chat Completions reads a null field as one not set, and clients
 * send them so, `"tools": null`; left out, not refused as a field Herald does not translate),
 * less `logprobs: false`, which is its default.
 */
function askedFields(body: JsonObject): JsonObject {
  const asked = setSupportedFields(body, body.logprobs === false ? OPENAI_FIELDS_AND_LOGPROBS : OPENAI_FIELDS)
  delete asked.logprobs
  return asked
}

/** A service setting as OpenAI types it: `store` a boolean, `metadata` strings by key, the others a string. */
function serviceSetting(field: string, value: unknown): unknown {
  if (field === "store") return optionalBoolean(value, field)
  if (field !== "metadata") return string(value, field)
  const metadata = object(value, field)
  for (const [key, each] of Object.entries(metadata)) string(each, `metadata.${key}`)
  return metadata
}

/** A message of `role`, its `message` fields checked against {@link MESSAGE_FIELDS}. */
function fromOpenAIMessage(
  role: Exclude<MessageRole, "system" | "developer">,
  message: JsonObject,
  path: string,
): NormalizedMessage {
  switch (role) {
    case "user": {
      if (typeof message.content === "string")
        return { role, content: [{ type: "text", text: message.content }] }
      const content = array(message.content, `${path}.content`).map((value, at): TextPart | ImagePart => {
        const partPath = `${path}.content[${at}]`
        const part = object(value, partPath)
        if (part.type === "text") return { type: "text", text: string(part.text, `${partPath}.text`) }
        if (part.type !== "image_url") {
          throw new RequestFieldError(
            `${partPath}.type`,
            `content parts of type ${typeName(part.type)} are not supported`,
          )
        }
        const image = object(part.image_url, `${partPath}.image_url`)
        // `detail` tunes OpenAI's own image resolution; no other format can say it. Null is unset,
        // as for every optional field.
        if (image.detail != null && image.detail !== "auto") {
          throw new RequestFieldError(`${partPath}.image_url.detail`, "only auto is supported")
        }
        const urlField = `${partPath}.image_url.url`
        return readFrom({ type: "image", url: string(image.url, urlField) }, urlField)
      })
      return { role, content }
    }
    case "assistant": {
      const reasoning = optionalString(message.reasoning_content, `${path}.reasoning_content`)
      const content: AssistantMessage["content"] =
        message.thinking_blocks === undefined
          ? []
          : array(message.thinking_blocks, `${path}.thinking_blocks`).map((value, at) => {
              const blockPath = `${path}.thinking_blocks[${at}]`
              const block = thinkingBlockPart(object(value, blockPath), blockPath)
              if (block === undefined)
                throw new RequestFieldError(`${blockPath}.type`, "must be thinking or redacted_thinking")
              return block
            })
      if (content.length === 0 && reasoning !== undefined && reasoning !== "")
        content.push({ type: "reasoning", text: reasoning })
      const details = sentBackDetails(message.reasoning_details, `${path}.reasoning_details`)
      if (details.length > 0) content.push({ type: "reasoning-details", details })
      if (message.content !== undefined) {
        for (const text of nonEmptyTexts(contentTexts(message.content, `${path}.content`)))
          content.push({ type: "text", text })
      }
      const refusal = optionalString(message.refusal, `${path}.refusal`)
      if (refusal !== undefined && refusal !== "") content.push({ type: "text", text: refusal })
      if (message.tool_calls !== undefined) {
        array(message.tool_calls, `${path}.tool_calls`).forEach((value, at) => {
          const callPath = `${path}.tool_calls[${at}]`
          const call = object(value, callPath)
          const fn = object(call.function, `${callPath}.function`)
          const sent = sentBackId(string(call.id, `${callPath}.id`))
          const thoughtSignature =
            sentBackSignature(call.extra_content, `${callPath}.extra_content`, "thought_signature") ??
            sent.signature
          const argumentsField = `${callPath}.function.arguments`
          content.push(
            readFrom(
              {
                type: "tool-call",
                id: sent.id,
                name: string(fn.name, `${callPath}.function.name`),
                arguments: string(fn.arguments, argumentsField),
                ...(thoughtSignature !== undefined && { thoughtSignature }),
              },
              argumentsField,
            ),
          )
        })
      }
      return { role, content }
    }
    case "tool":
      return {
        role,
        toolCallId: sentBackId(string(message.tool_call_id, `${path}.tool_call_id`)).id,
        ...toolResultContent(contentTexts(message.content, `${path}.content`)),
      }
  }
}

function fromOpenAIToolChoice(value: unknown): ToolChoice {
  if (value === "auto" || value === "none" || value === "required") return value
  const choice = object(value, "tool_choice")
  if (choice.type !== "function") throw new RequestFieldError("tool_choice.type", "must be function")
  return { name: string(object(choice.function, "tool_choice.function").name, "tool_choice.function.name") }
}

function fromOpenAIResponseFormat(value: unknown): ResponseFormat {
  const format = object(value, "response_format")
  const type = string(format.type, "response_format.type")
  if (type === "text" || type === "json_object") return { type }
  if (type !== "json_schema")
    throw new RequestFieldError("response_format.type", `unknown response format ${type}`)
  const jsonSchema = object(format.json_schema, "response_format.json_schema")
  const strict = jsonSchema.strict
  if (strict !== undefined && strict !== null && typeof strict !== "boolean") {
    throw new RequestFieldError("response_format.json_schema.strict", "must be a boolean")
  }
  const description = optionalString(jsonSchema.description, "response_format.json_schema.description")
  return {
    type,
    name: string(jsonSchema.name, "response_format.json_schema.name"),
    ...(description !== undefined && { description }),
    schema: object(jsonSchema.schema ?? {}, "response_format.json_schema.schema"),
    ...(typeof strict === "boolean" && { strict }),
  }
}
