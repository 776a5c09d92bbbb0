import type { CreateEndpoint } from "./create-generation.js"
import { fromAISdkChatRequest } from "./from-ai-sdk-request.js"
import { fromAnthropicMessagesRequest } from "./from-anthropic-request.js"
import { fromOpenAIChatRequest } from "./from-openai-request.js"
import { type JsonObject, optionalBoolean, optionalObject } from "./request-fields.js"

/** `POST /v1/chat/completions`: `stream` and `stream_options.include_usage` choose the answer's form. */
export const openaiChatEndpoint: CreateEndpoint = {
  format: "openai",
  read(body) {
    // First: it checks that the body is an object.
    const request = fromOpenAIChatRequest(body)
    const fields = body as JsonObject
    const streamOptions = optionalObject(fields.stream_options, "stream_options")
    // The translation reads `max_completion_tokens` first, `max_tokens` when it is absent or null.
    const completion = fields.max_completion_tokens !== undefined && fields.max_completion_tokens !== null
    return {
      request,
      streaming: optionalBoolean(fields.stream, "stream") === true,
      includeUsage: optionalBoolean(streamOptions.include_usage, "stream_options.include_usage") === true,
      maxTokensField: completion ? "max_completion_tokens" : "max_tokens",
    }
  },
}

/** `POST /v1/messages`: `stream` chooses the answer's form. */
export const anthropicMessagesEndpoint: CreateEndpoint = {
  format: "anthropic",
  read(body) {
    const request = fromAnthropicMessagesRequest(body)
    return {
      request,
      streaming: optionalBoolean((body as JsonObject).stream, "stream") === true,
      includeUsage: false,
      maxTokensField: "max_tokens",
    }
  },
}

/**
 * `POST /v1/ai-sdk/chat`: what `useChat` sends, always answered as a UI message stream; the
 * generation becomes its chat's latest, which `GET /v1/ai-sdk/chat/{chatId}/stream` resumes. A
 * request that continues an assistant message answers in that message (its id is the stream's).
 */
export const aiSdkChatEndpoint: CreateEndpoint = {
  format: "ai-sdk",
  read(body, context) {
    const { chatId, request, continuedMessageId } = fromAISdkChatRequest(body, context.defaultModel)
    return {
      request,
      streaming: true,
      includeUsage: false,
      ...(continuedMessageId !== undefined && { messageId: continuedMessageId }),
      maxTokensField: "maxOutputTokens",
      created: (id, subject) => context.chats.record(subject, chatId, id),
    }
  },
}
