import type { Answer } from "./answer.js"
import type { GenerationFormat } from "./generation-meta.js"
import type { ViewContext, ViewFactory } from "./view.js"

/** What an error response says besides its status. */
export interface ErrorDetails {
  /** The format's error type; by default the one its status implies. */
  readonly type?: string
  /** OpenAI's `code` (`model_not_found`, `invalid_api_key`). */
  readonly code?: string
  /** OpenAI's `param`: the request field at fault. */
  readonly param?: string
}

/** One API's shapes: its stream view, its error body and its whole (non-streaming) answer. */
export interface WireFormat {
  readonly name: GenerationFormat
  readonly view: ViewFactory
  error(status: number, message: string, details?: ErrorDetails): Record<string, unknown>
  answer(answer: Answer, context: ViewContext): Record<string, unknown>
}
