import { aiSdkView, UI_MESSAGE_STREAM_HEADERS } from "./ai-sdk-view.js"
import { anthropicFormat } from "./anthropic-format.js"
import type { GenerationFormat } from "./generation-meta.js"
import { openaiFormat } from "./openai-format.js"
import type { ViewFactory } from "./view.js"
import type { WireFormat } from "./wire-format.js"

/** How a generation is streamed in one format. */
export interface StreamFormat {
  readonly view: ViewFactory
  /** The shape of its errors (and of a whole answer, for the formats that have one). */
  readonly errors: WireFormat
  /** Response headers its clients look for. */
  readonly headers: Readonly<Record<string, string>>
}

/**
 * Every format a generation can be streamed in. The AI SDK's UI message stream has no error
 * body of its own (`useChat` shows a refusal's text), so its refusals take OpenAI's shape.
 */
export const STREAM_FORMATS: Readonly<Record<GenerationFormat, StreamFormat>> = {
  openai: { view: openaiFormat.view, errors: openaiFormat, headers: {} },
  anthropic: { view: anthropicFormat.view, errors: anthropicFormat, headers: {} },
  "ai-sdk": { view: aiSdkView, errors: openaiFormat, headers: UI_MESSAGE_STREAM_HEADERS },
}
