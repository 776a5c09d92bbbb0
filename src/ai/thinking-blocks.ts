import type { ReasoningPart, RedactedReasoningPart } from "./request.js"
import { type JsonObject, optionalString, string } from "./request-fields.js"

/**
 * Claude's thinking blocks as a client sends them back: in an assistant turn's Messages content,
 * or in LiteLLM's `thinking_blocks` beside an OpenAI message (the same two shapes).
 * `{type: "thinking", thinking, signature}` is reasoning with its signature (an empty one is
 * none); `{type: "redacted_thinking", data}` is the encrypted reasoning. Another type: undefined.
 */
export function thinkingBlockPart(
  block: JsonObject,
  path: string,
): ReasoningPart | RedactedReasoningPart | undefined {
  if (block.type === "redacted_thinking")
    return { type: "redacted-reasoning", data: string(block.data, `${path}.data`) }
  if (block.type !== "thinking") return undefined
  const signature = optionalString(block.signature, `${path}.signature`)
  return {
    type: "reasoning",
    text: string(block.thinking, `${path}.thinking`),
    ...(signature !== undefined && signature !== "" && { signature }),
  }
}
