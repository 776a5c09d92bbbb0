import type { FinishReason } from "./entries.js"

/**
 * Anthropic's stop reasons (the Messages API's `stop_reason`) and the finish each one is. The
 * adapter reads them with it; the view gives an upstream's own reason back only when it is still
 * the answer's finish (a compatible server's `end_turn` after tool calls is not).
 */
const ANTHROPIC_FINISH_REASONS: Readonly<Record<string, FinishReason>> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
  pause_turn: "pause",
}

/** The finish Anthropic's stop reason `raw` is, or undefined for a reason Anthropic has not. */
export function anthropicFinish(raw: string): FinishReason | undefined {
  return Object.hasOwn(ANTHROPIC_FINISH_REASONS, raw) ? ANTHROPIC_FINISH_REASONS[raw] : undefined
}
