import { type Answer, signedThinking } from "./answer.js"
import type { FinishReason } from "./entries.js"
import { openaiUsage, openaiView } from "./openai-view.js"
import { idWithSignature, signatureFields } from "./thought-signature.js"
import type { WireFormat } from "./wire-format.js"

/** OpenAI's error `type` for a status (its API answers `invalid_request_error` for most 4xx). */
function errorType(status: number): string {
  if (status === 401) return "authentication_error"
  if (status === 403) return "permission_error"
  if (status === 429) return "rate_limit_exceeded"
  return status >= 500 ? "server_error" : "invalid_request_error"
}

const FINISH: Record<FinishReason, string> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool_calls",
  content_filter: "content_filter",
  pause: "stop",
  other: "stop",
}

/** OpenAI Chat Completions: chunks, `{error: {message, type, param, code}}`, `chat.completion`. */
export const openaiFormat: WireFormat = {
  name: "openai",
  view: openaiView,
  error(status, message, details = {}) {
    return {
      error: {
        message,
        type: details.type ?? errorType(status),
        param: details.param ?? null,
        code: details.code ?? null,
      },
    }
  },
  answer(answer: Answer, { id, meta }) {
    const text = answer.blocks.flatMap((block) => (block.type === "text" ? [block.text] : [])).join("")
    const refusal = answer.blocks.flatMap((block) => (block.type === "refusal" ? [block.text] : [])).join("")
    const reasoning = answer.blocks
      .flatMap((block) => (block.type === "thinking" ? [block.thinking] : []))
      .join("")
    // Claude's signed and encrypted thinking, in LiteLLM's `thinking_blocks`, for the client to
    // send back with the turn's tool calls (Claude refuses the turn without them).
    const thinkingBlocks = signedThinking(answer.blocks)
    const calls = answer.blocks.flatMap((block) =>
      block.type === "tool_call"
        ? [
            {
              id: idWithSignature(block.id, block.thoughtSignature),
              type: "function",
              function: { name: block.name, arguments: block.arguments },
              ...signatureFields(block.thoughtSignature),
            },
          ]
        : [],
    )
    return {
      id: `chatcmpl-${id}`,
      object: "chat.completion",
      created: Math.floor(meta.createdAt / 1000),
      model: meta.model,
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: text === "" && (calls.length > 0 || refusal !== "") ? null : text,
            ...(refusal === "" ? {} : { refusal }),
            ...(reasoning === "" ? {} : { reasoning_content: reasoning }),
            ...(thinkingBlocks.length === 0 ? {} : { thinking_blocks: thinkingBlocks }),
            ...(answer.reasoningDetails.length === 0 ? {} : { reasoning_details: answer.reasoningDetails }),
            ...(calls.length === 0 ? {} : { tool_calls: calls }),
          },
          finish_reason: answer.finish === undefined ? "stop" : FINISH[answer.finish.reason],
        },
      ],
      usage: openaiUsage(answer.usage),
    }
  },
}
