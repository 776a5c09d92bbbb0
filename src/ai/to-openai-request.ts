import { turnDetails, turnSentDetails } from "./reasoning-details.js"
import { chatCompletionsEffort } from "./reasoning-settings.js"
import { joinTexts, type NormalizedMessage, type NormalizedRequest, type ToolChoice } from "./request.js"
import { RequestFieldError } from "./request-field-error.js"
import { signatureFields } from "./thought-signature.js"

/**
 * The field an upstream reads the most output tokens from: `max_tokens` for the compatible servers
 * (Ollama and LM Studio read no other); `max_completion_tokens` for OpenAI's own API, whose
 * reasoning models refuse `max_tokens`.
 */
export type MaxTokensField = "max_tokens" | "max_completion_tokens"

/** How to write a request for one OpenAI-compatible server. */
export interface OpenAIRequestOptions {
  /** The field the most output tokens go in. Default `max_tokens`. */
  readonly maxTokensField?: MaxTokensField
  /**
   * Whether tool calls carry their Gemini thought signatures (`extra_content`): Gemini needs them
   * back, other servers may refuse the unknown field. Default false.
   */
  readonly thoughtSignatures?: boolean
  /**
   * Whether an assistant turn with tool calls carries its reasoning (`reasoning_content`), as
   * DeepSeek's thinking mode requires; other servers may refuse the field. Default false.
   */
  readonly reasoningWithToolCalls?: boolean
  /**
   * Whether an assistant turn carries OpenRouter's `reasoning_details` back, as OpenRouter wants
   * (other servers may refuse the field). Default false.
   */
  readonly reasoningDetails?: boolean
  /**
   * Whether the server takes `top_k`, which Chat Completions has not but vLLM, llama.cpp server
   * and OpenRouter read. Default false: a request with it is refused naming it.
   */
  readonly topK?: boolean
}

/**
 * The Chat Completions body for a normalized request, without `stream` (the adapter adds it).
 * Every normalized field but Messages' `top_k` has a Chat Completions form: only `top_k` throws
 * {@link RequestFieldError}, unless the server takes it (`topK`), and a tool result's `isError`
 * is dropped (Chat Completions has no such flag; the result's text says it).
 */
export function toOpenAIChatRequest(
  request: NormalizedRequest,
  options: OpenAIRequestOptions = {},
): Record<string, unknown> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `toOpenAIChatRequest's options must be an object such as { maxTokensField: "max_completion_tokens" }; got ${JSON.stringify(options)}`,
    )
  }
  const messages: Record<string, unknown>[] = []
  if (request.system !== undefined) messages.push({ role: "system", content: request.system })
  for (const message of request.messages) messages.push(toOpenAIMessage(message, options))
  const body: Record<string, unknown> = { model: request.model, messages }
  if (request.tools !== undefined) {
    body.tools = request.tools.map((tool) => ({
      type: "function",
      function: {
        name: tool.name,
        ...(tool.description !== undefined && { description: tool.description }),
        parameters: tool.parameters,
        ...(tool.strict === true && { strict: true }),
      },
    }))
  }
  if (request.toolChoice !== undefined) body.tool_choice = toOpenAIToolChoice(request.toolChoice)
  // Only `false` says anything (one call at a time is not the default); OpenAI refuses the field
  // in a request without tools, and its o-series models refuse it at all.
  if (request.parallelToolCalls === false && (request.tools?.length ?? 0) > 0)
    body.parallel_tool_calls = false
  if (request.stop !== undefined) body.stop = request.stop
  if (request.maxTokens !== undefined) body[options.maxTokensField ?? "max_tokens"] = request.maxTokens
  if (request.temperature !== undefined) body.temperature = request.temperature
  if (request.topP !== undefined) body.top_p = request.topP
  if (request.topK !== undefined && options.topK !== true)
    throw new RequestFieldError(
      "top_k",
      "Chat Completions has no top_k; leave it out, or set the model's `topK` if its server takes it (vLLM, llama.cpp server)",
    )
  if (request.topK !== undefined) body.top_k = request.topK
  if (request.frequencyPenalty !== undefined) body.frequency_penalty = request.frequencyPenalty
  if (request.presencePenalty !== undefined) body.presence_penalty = request.presencePenalty
  if (request.seed !== undefined) body.seed = request.seed
  if (request.logitBias !== undefined) body.logit_bias = request.logitBias
  if (request.verbosity !== undefined) body.verbosity = request.verbosity
  Object.assign(body, request.serviceSettings)
  if (request.endUser !== undefined) body.user = request.endUser
  const effort = chatCompletionsEffort(request)
  if (effort !== undefined) body.reasoning_effort = effort
  if (request.responseFormat !== undefined) {
    const format = request.responseFormat
    body.response_format =
      format.type === "json_schema"
        ? {
            type: "json_schema",
            json_schema: {
              name: format.name,
              ...(format.description !== undefined && { description: format.description }),
              schema: format.schema,
              ...(format.strict !== undefined && { strict: format.strict }),
            },
          }
        : { type: format.type }
  }
  return body
}

function toOpenAIMessage(message: NormalizedMessage, options: OpenAIRequestOptions): Record<string, unknown> {
  switch (message.role) {
    case "user": {
      const only = message.content[0]
      // A single text part as a plain string: the form every compatible server reads.
      if (message.content.length === 1 && only?.type === "text") return { role: "user", content: only.text }
      return {
        role: "user",
        content: message.content.map((part) =>
          part.type === "text"
            ? { type: "text", text: part.text }
            : { type: "image_url", image_url: { url: part.url } },
        ),
      }
    }
    case "assistant": {
      const textsOf = (type: "text" | "reasoning") =>
        message.content.flatMap((part) => (part.type === type ? [part.text] : []))
      const text = joinTexts(textsOf("text"))
      // A turn without details (an Anthropic client's) gives its signed thinking and signed calls as items.
      const sentDetails = turnSentDetails(message)
      const details = sentDetails.length > 0 ? sentDetails : turnDetails(message)
      const toolCalls = message.content.flatMap((part) =>
        part.type === "tool-call"
          ? [
              {
                id: part.id,
                type: "function",
                function: { name: part.name, arguments: part.arguments },
                ...signatureFields(options.thoughtSignatures === true ? part.thoughtSignature : undefined),
              },
            ]
          : [],
      )
      return {
        role: "assistant",
        content: text === "" && toolCalls.length > 0 ? null : text,
        ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
        // DeepSeek refuses a tool turn without the field, even one that had no reasoning.
        ...(options.reasoningWithToolCalls === true &&
          toolCalls.length > 0 && { reasoning_content: joinTexts(textsOf("reasoning")) }),
        ...(options.reasoningDetails === true && details.length > 0 && { reasoning_details: details }),
      }
    }
    case "tool":
      return { role: "tool", tool_call_id: message.toolCallId, content: message.content }
  }
}

function toOpenAIToolChoice(choice: ToolChoice): unknown {
  return typeof choice === "string" ? choice : { type: "function", function: { name: choice.name } }
}
