/**
 * `herald/ai`: OpenAI- and Anthropic-compatible endpoints, and the AI SDK's chat backend (its
 * transport is `herald/ai/ai-sdk`), whose generations are stored as logs while they stream
 * (`createAIHandler`), so a reload, a dropped network or another node resumes them from the last
 * event seen, and a cancel stops the model. Also the pieces: the providers
 * (`openai`, `anthropic`, the offline `demo` model), the normalized entries, request
 * translation, the node's generations and the views (docs/ai.md).
 *
 * @packageDocumentation
 */

export type { AIAuthOptions } from "./ai-auth.js"
export type { GenerationObserver } from "./ai-metrics.js"
export { aiSdkView, UI_MESSAGE_STREAM_HEADERS } from "./ai-sdk-view.js"
export { ANTHROPIC_VERSION, type AnthropicProviderOptions, anthropicProvider } from "./anthropic.js"
export { anthropicView } from "./anthropic-view.js"
export type { AICorsOptions } from "./cors.js"
export { type Cursor, parseCursor } from "./cursor.js"
export { type DemoProviderOptions, demoProvider } from "./demo.js"
export type * from "./entries.js"
export { isOutputEntry } from "./entries.js"
export { fromAnthropicMessagesRequest } from "./from-anthropic-request.js"
export { fromOpenAIChatRequest } from "./from-openai-request.js"
export type { GenerationLogAccess } from "./generation-access.js"
export type { GenerationActivity, GenerationSummary } from "./generation-activity.js"
export type { GenerationFormat, GenerationMeta } from "./generation-meta.js"
export type { GenerationRun, StartOutcome } from "./generation-run.js"
export {
  CANCEL_SIGNAL,
  createGenerations,
  type GenerationSpec,
  type Generations,
  type GenerationsOptions,
  NotClaimedError,
  ShuttingDownError,
} from "./generations.js"
export { type AIHandler, type AIHandlerOptions, createAIHandler } from "./handler.js"
export { DEFAULT_MODELS, type Model, type ModelConfig } from "./models.js"
export { type OpenAIProviderOptions, openaiProvider } from "./openai.js"
export { openaiView } from "./openai-view.js"
export type { Provider } from "./provider.js"
export type * from "./request.js"
export { RequestFieldError } from "./request-field-error.js"
export type { Refusal } from "./responses.js"
export type * from "./stored-entry.js"
export { DEFAULT_ANTHROPIC_MAX_TOKENS, toAnthropicMessagesRequest } from "./to-anthropic-request.js"
export { type MaxTokensField, type OpenAIRequestOptions, toOpenAIChatRequest } from "./to-openai-request.js"
export { UpstreamRequestError } from "./upstream-error.js"
export type { View, ViewContext, ViewEvent, ViewFactory } from "./view.js"
