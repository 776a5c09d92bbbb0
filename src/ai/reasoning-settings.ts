import type { NormalizedRequest, Thinking } from "./request.js"
import { RequestFieldError } from "./request-field-error.js"
import {
  object,
  onlySupportedFields,
  optionalPositiveInteger,
  optionalString,
  string,
} from "./request-fields.js"

/**
 * How much a model reasons, across formats. Chat Completions has one knob, `reasoning_effort`
 * (`none` turns reasoning off where a model allows it). Messages has two: `thinking` (whether the
 * model thinks, with a budget of tokens or as it judges: `adaptive`) and `output_config.effort`
 * (how hard). A client's effort asks a Claude upstream for adaptive thinking at that effort; a
 * thinking budget asks a Chat Completions upstream for the effort level the budget falls in.
 */

/** How an effort level is spelled: lowercase words (`low`, `xhigh`), as each server names its own. */
const EFFORT = /^[a-z][a-z_]{0,31}$/

/** The thinking budgets, in tokens, from which a budget counts as `medium` and as `high` effort. */
const MEDIUM_BUDGET = 2048
const HIGH_BUDGET = 4096

/**
 * What an OpenAI `reasoning_effort` (or the AI SDK body's `reasoningEffort`) asks for: `none`
 * turns thinking off, any other level thinks at that effort. Absent or null: nothing.
 */
export function effortRequest(value: unknown, path: string): Pick<NormalizedRequest, "thinking" | "effort"> {
  if (value === undefined || value === null) return {}
  const effort = string(value, path)
  if (!EFFORT.test(effort)) {
    throw new RequestFieldError(path, "must be an effort level such as none, minimal, low, medium or high")
  }
  return effort === "none" ? { thinking: { type: "disabled" } } : { thinking: { type: "adaptive" }, effort }
}

/** Anthropic's `thinking`: `{type: "enabled", budget_tokens, display?}`, `{type: "adaptive", display?}` or `{type: "disabled"}`. */
export function thinkingRequest(value: unknown, path: string): Thinking {
  const thinking = object(value, path)
  const display = optionalString(thinking.display, `${path}.display`)
  const shown = display === undefined ? {} : { display }
  switch (thinking.type) {
    case "enabled": {
      onlySupportedFields(thinking, new Set(["type", "budget_tokens", "display"]), `${path}.`)
      const budgetTokens = optionalPositiveInteger(thinking.budget_tokens, `${path}.budget_tokens`)
      if (budgetTokens === undefined) throw new RequestFieldError(`${path}.budget_tokens`, "is required")
      return { type: "enabled", budgetTokens, ...shown }
    }
    case "adaptive":
      onlySupportedFields(thinking, new Set(["type", "display"]), `${path}.`)
      return { type: "adaptive", ...shown }
    case "disabled":
      onlySupportedFields(thinking, new Set(["type"]), `${path}.`)
      return { type: "disabled" }
    default:
      throw new RequestFieldError(`${path}.type`, "must be enabled, adaptive or disabled")
  }
}

/** Anthropic's `output_config`: only `effort` is read. */
export function outputEffort(value: unknown, path: string): string | undefined {
  const config = object(value, path)
  onlySupportedFields(config, new Set(["effort"]), `${path}.`)
  const effort = optionalString(config.effort, `${path}.effort`)
  if (effort !== undefined && !EFFORT.test(effort)) {
    throw new RequestFieldError(`${path}.effort`, "must be an effort level such as low, medium or high")
  }
  return effort
}

/**
 * The `reasoning_effort` for a Chat Completions upstream: the effort asked, else the level a
 * thinking setting means (off: `none`; a budget: `low`, `medium` from 2,048 tokens, `high` from
 * 4,096; adaptive: the model's default, so none sent).
 */
export function chatCompletionsEffort(request: NormalizedRequest): string | undefined {
  if (request.effort !== undefined) return request.effort
  const thinking = request.thinking
  if (thinking === undefined || thinking.type === "adaptive") return undefined
  if (thinking.type === "disabled") return "none"
  if (thinking.budgetTokens >= HIGH_BUDGET) return "high"
  return thinking.budgetTokens >= MEDIUM_BUDGET ? "medium" : "low"
}

/** Anthropic's name for an effort level: it has no `minimal`, whose nearest is `low`. */
export function messagesEffort(effort: string): string {
  return effort === "minimal" ? "low" : effort
}
