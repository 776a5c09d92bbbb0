/**
 * `herald/ai` (in progress): the providers a generation streams from — `openai` (Chat
 * Completions and compatible servers), `anthropic` (Messages) and the offline `demo` model — the
 * normalized entries they yield, and the translation of OpenAI and Anthropic request bodies.
 * Endpoints and storage come next (docs/ai.md).
 *
 * @packageDocumentation
 */

export { ANTHROPIC_VERSION, type AnthropicProviderOptions, anthropicProvider } from "./anthropic.js"
export { type DemoProviderOptions, demoProvider } from "./demo.js"
export type * from "./entries.js"
export { isOutputEntry } from "./entries.js"
export { fromAnthropicMessagesRequest } from "./from-anthropic-request.js"
export { fromOpenAIChatRequest } from "./from-openai-request.js"
export { type OpenAIProviderOptions, openaiProvider } from "./openai.js"
export type { Provider } from "./provider.js"
export type * from "./request.js"
export { RequestFieldError } from "./request-field-error.js"
export { DEFAULT_ANTHROPIC_MAX_TOKENS, toAnthropicMessagesRequest } from "./to-anthropic-request.js"
export { toOpenAIChatRequest } from "./to-openai-request.js"
export { UpstreamRequestError } from "./upstream-error.js"
