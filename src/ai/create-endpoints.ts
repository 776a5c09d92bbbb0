import type { CreateEndpoint } from "./create-generation.js"
import { fromAISdkChatRequest } from "./from-ai-sdk-request.js"
import { fromAnthropicMessagesRequest } from "./from-anthropic-request.js"
import { fromOpenAIChatRequest } from "./from-openai-request.js"

/** `POST /v1/chat/completions`: `stream` and `stream_options.include_usage` choose the answer's form. */
export const openaiChatEndpoint: CreateEndpoint = {
  format: "openai",
  read(body) {
    const fields = body as {
      stream?: unknown
      stream_options?: { include_usage?: unknown }
      max_completion_tokens?: unknown
    }
    // The translation reads `max_completion_tokens` first, `max_tokens` when it is absent or null.
    const completion = fields.max_completion_tokens !== undefined && fields.max_completion_tokens !== null
    return {
      request: fromOpenAIChatRequest(body),
      streaming: fields.stream === true,
      includeUsage: fields.stream_options?.include_usage === true,
      maxTokensField: completion ? "max_completion_tokens" : "max_tokens",
    }
  },
}

/** `POST /v1/messages`: `stream` chooses the answer's form. */
export const anthropicMessagesEndpoint: CreateEndpoint = {
  format: "anthropic",
  read(body) {
    return {
      request: fromAnthropicMessagesRequest(body),
      streaming: (body as { stream?: unknown }).stream === true,
      includeUsage: false,
      maxTokensField: "max_tokens",
    }
  },
}

/**
 * `POST /v1/ai-sdk/chat`: what `useChat` sends, always answered as a UI message stream; the
 * generation becomes its chat's latest, which `GET /v1/ai-sdk/chat/{chatId}/stream` resumes.
 */
export const aiSdkChatEndpoint: CreateEndpoint = {
  format: "ai-sdk",
  read(body, context) {
    const { chatId, request } = fromAISdkChatRequest(body, context.defaultModel)
    return {
      request,
      streaming: true,
      includeUsage: false,
      maxTokensField: "maxOutputTokens",
      created: (id, subject) => context.chats.record(subject, chatId, id),
    }
  },
}
