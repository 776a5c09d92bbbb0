import type { Answer } from "./answer.js"
import { anthropicInputUsage, anthropicStopReason, anthropicView } from "./anthropic-view.js"
import { idWithSignature } from "./thought-signature.js"
import { toolInputOf } from "./tool-input.js"
import type { WireFormat } from "./wire-format.js"

/** Anthropic's error `type` for a status (its "Errors" page). */
function errorType(status: number): string {
  switch (status) {
    case 401:
      return "authentication_error"
    case 403:
      return "permission_error"
    case 404:
      return "not_found_error"
    case 413:
      return "request_too_large"
    case 429:
      return "rate_limit_error"
    case 529:
      return "overloaded_error"
    default:
      return status >= 500 ? "api_error" : "invalid_request_error"
  }
}

/** Anthropic Messages: events, `{type: "error", error: {type, message}}`, a `message`. */
export const anthropicFormat: WireFormat = {
  name: "anthropic",
  view: anthropicView,
  error(status, message, details = {}) {
    return { type: "error", error: { type: details.type ?? errorType(status), message } }
  },
  answer(answer: Answer, { id, meta }) {
    const content = answer.blocks.map((block) => {
      switch (block.type) {
        case "text":
        case "refusal":
          return { type: "text", text: block.text }
        case "thinking":
          return { type: "thinking", thinking: block.thinking, signature: block.signature }
        case "redacted_thinking":
          return { type: "redacted_thinking", data: block.data }
        default:
          return {
            type: "tool_use",
            id: idWithSignature(block.id, block.thoughtSignature),
            name: block.name,
            input: toolInputOf(block.arguments),
          }
      }
    })
    return {
      id: `msg_${id}`,
      type: "message",
      role: "assistant",
      model: meta.model,
      content,
      stop_reason:
        answer.finish === undefined
          ? "end_turn"
          : anthropicStopReason(
              answer.finish,
              answer.blocks.some((block) => block.type === "refusal"),
            ),
      stop_sequence: answer.finish?.stopSequence ?? null,
      usage: {
        input_tokens: 0,
        ...anthropicInputUsage(answer.usage),
        output_tokens: answer.usage.outputTokens ?? 0,
      },
    }
  },
}
