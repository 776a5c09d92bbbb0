import type { CreateEndpoint } from "./create-generation.js"
import { fromAISdkChatRequest } from "./from-ai-sdk-request.js"
import { fromAnthropicMessagesRequest } from "./from-anthropic-request.js"
import { fromOpenAIChatRequest } from "./from-openai-request.js"

/** `POST /v1/chat/completions`: `stream` and `stream_options.include_usage` choose the answer's form. */
export const openaiChatEndpoint: CreateEndpoint = {
  format: "openai",
  maxTokensField: "max_tokens",
  read(body) {
    const fields = body as { stream?: unknown; stream_options?: { include_usage?: unknown } }
    return {
      request: fromOpenAIChatRequest(body),
      streaming: fields.stream === true,
      includeUsage: fields.stream_options?.include_usage === true,
    }
  },
}

/** `POST /v1/messages`: `stream` chooses the answer's form. */
export const anthropicMessagesEndpoint: CreateEndpoint = {
  format: "anthropic",
  maxTokensField: "max_tokens",
  read(body) {
    return {
      request: fromAnthropicMessagesRequest(body),
      streaming: (body as { stream?: unknown }).stream === true,
      includeUsage: false,
    }
  },
}

/**
 * `POST /v1/ai-sdk/chat`: what `useChat` sends, always answered as a UI message stream; the
 * generation becomes its chat's latest, which `GET /v1/ai-sdk/chat/{chatId}/stream` resumes.
 */
export const aiSdkChatEndpoint: CreateEndpoint = {
  format: "ai-sdk",
  maxTokensField: "maxOutputTokens",
  read(body, context) {
    const { chatId, request } = fromAISdkChatRequest(body, context.defaultModel)
    return {
      request,
      streaming: true,
      includeUsage: false,
      created: (id, subject) => context.chats.record(subject, chatId, id),
    }
  },
}
