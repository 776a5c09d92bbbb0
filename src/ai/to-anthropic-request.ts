import { DEFAULT_JSON_TEXT_BOUNDS, textPassesBound } from "../auth/json-depth.js"
import { clientField } from "./client-fields.js"
import { claudeThinkingParts, turnSentDetails } from "./reasoning-details.js"
import { messagesEffort } from "./reasoning-settings.js"
import {
  type AssistantMessage,
  type NormalizedMessage,
  type NormalizedRequest,
  nonEmptyTexts,
  type ReasoningPart,
  type RedactedReasoningPart,
  type ToolResultMessage,
  type UserMessage,
} from "./request.js"
import { RequestFieldError } from "./request-field-error.js"

/** Anthropic requires `max_tokens`; this is used when the request sets none (plus a thinking budget). */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 4096

/**
 * The Messages body for a normalized request, without `stream` (the adapter adds it).
 * Throws {@link RequestFieldError} for what Messages cannot express: `response_format`
 * other than text, an image URL that is neither `http(s):` nor a base64 `data:` URL, tool-call
 * arguments that are not a JSON object, a `strict` tool, Chat Completions' penalties, `seed`,
 * `logit_bias` and `verbosity`. Chat Completions' service settings are left out.
 */
export function toAnthropicMessagesRequest(request: NormalizedRequest): Record<string, unknown> {
  if (request.responseFormat !== undefined && request.responseFormat.type !== "text") {
    throw new RequestFieldError("response_format", "Anthropic Messages has no JSON response format")
  }
  const messages: { role: "user" | "assistant"; content: Record<string, unknown>[] }[] = []
  // The values of all the calls' arguments, under one bound as a body's are: see assistantBlocks.
  const argumentValues = { values: 0 }
  request.messages.forEach((message, at) => {
    // Tool results are blocks of a user turn; consecutive user-side turns merge, since Messages
    // wants user and assistant to alternate.
    const role = message.role === "assistant" ? "assistant" : "user"
    const blocks =
      message.role === "user"
        ? userBlocks(message, at)
        : message.role === "assistant"
          ? assistantBlocks(message, at, argumentValues)
          : [toolResultBlock(message)]
    // A turn that says nothing (empty text) is left out, as Messages refuses empty turns and blocks.
    if (blocks.length === 0) {
      if (at === request.messages.length - 1) throw emptyLastTurn(message, at)
      return
    }
    const last = messages.at(-1)
    if (last !== undefined && last.role === role) last.content.push(...blocks)
    else messages.push({ role, content: blocks })
  })
  const { thinking } = request
  const body: Record<string, unknown> = {
    model: request.model,
    messages,
    max_tokens: anthropicMaxTokens(request),
  }
  if (request.system !== undefined) body.system = textOrBlocks(request.system, request.systemBlocks)
  if (request.endUser !== undefined) body.metadata = { user_id: request.endUser }
  if (request.tools !== undefined) {
    const strict = request.tools.findIndex((tool) => tool.strict === true)
    if (strict !== -1) {
      throw new RequestFieldError(
        `tools[${strict}].function.strict`,
        "strict tool schemas are not translated to Anthropic Messages; leave strict out",
      )
    }
    body.tools = request.tools.map((tool) => ({
      name: tool.name,
      ...(tool.description !== undefined && { description: tool.description }),
      input_schema: tool.parameters,
    }))
  }
  const choice = request.toolChoice
  // One call at a time is said on the tool choice (none has no such field): `auto` when none was asked.
  const oneCall = request.parallelToolCalls === false && (request.tools?.length ?? 0) > 0 && choice !== "none"
  if (choice !== undefined || oneCall) {
    body.tool_choice = {
      ...(typeof choice === "object"
        ? { type: "tool", name: choice.name }
        : { type: choice === "required" ? "any" : (choice ?? "auto") }),
      ...(oneCall && { disable_parallel_tool_use: true }),
    }
  }
  if (request.stop !== undefined) body.stop_sequences = request.stop
  const chatCompletionsOnly = (
    [
      ["frequency_penalty", request.frequencyPenalty],
      ["presence_penalty", request.presencePenalty],
      ["seed", request.seed],
      ["logit_bias", request.logitBias],
      ["verbosity", request.verbosity],
    ] as const
  ).find(([, value]) => value !== undefined)
  if (chatCompletionsOnly !== undefined)
    throw new RequestFieldError(
      chatCompletionsOnly[0],
      "Anthropic Messages has no such setting; leave it out",
    )
  if (request.topK !== undefined) body.top_k = request.topK
  if (request.temperature !== undefined) body.temperature = request.temperature
  // Claude's recent models refuse the two together (400); an OpenAI client may send both.
  else if (request.topP !== undefined) body.top_p = request.topP
  const loop = toolLoop(messages)
  const dropped = thinking !== undefined && thinking.type !== "disabled" && unthought(loop)
  if (thinking !== undefined && !dropped) {
    body.thinking =
      thinking.type === "enabled"
        ? { type: "enabled", budget_tokens: thinking.budgetTokens, ...displayOf(thinking) }
        : thinking.type === "adaptive"
          ? { type: "adaptive", ...displayOf(thinking) }
          : { type: "disabled" }
  }
  // A request that leaves thinking out leaves it to the model (the newest think by default).
  if (thinking?.type === "disabled" || dropped) withoutThinking(loop)
  if (request.effort !== undefined) body.output_config = { effort: messagesEffort(request.effort) }
  return body
}

/**
 * The `max_tokens` Messages gets for `request`, which requires one: the request's own, else
 * {@link DEFAULT_ANTHROPIC_MAX_TOKENS} plus the thinking budget (the budget is part of
 * `max_tokens`, which must exceed it: the answer keeps its default beside it).
 */
export function anthropicMaxTokens(request: NormalizedRequest): number {
  const budget = request.thinking?.type === "enabled" ? request.thinking.budgetTokens : 0
  return request.maxTokens ?? DEFAULT_ANTHROPIC_MAX_TOKENS + budget
}

/**
 * The refusal of a last turn that says nothing, named by its client's field (`at`, the message's
 * index here, if it has none). It cannot be left out as an earlier one is: the turn before it
 * would be the one answered, and an assistant's would be continued instead of answered.
 */
function emptyLastTurn(message: NormalizedMessage, at: number): RequestFieldError {
  return new RequestFieldError(
    clientField(message, `messages[${at}].content`),
    "the last turn is empty, and Anthropic Messages refuses empty turns; give it some text",
  )
}

/** A request's messages as Messages takes them: user and assistant alternating. */
type MessagesTurns = { role: string; content: Record<string, unknown>[] }[]

/**
 * The assistant turns of the tool loop under way: those after the last user turn that is not
 * tool results. Claude sees them as one ("the final `assistant` message").
 */
function toolLoop(messages: MessagesTurns): MessagesTurns {
  const loop: MessagesTurns = []
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i] as MessagesTurns[number]
    if (message.role === "user" && !message.content.some((block) => block.type === "tool_result")) break
    if (message.role === "assistant") loop.unshift(message)
  }
  return loop
}

/**
 * Whether the conversation is in a tool loop that does not start with thinking. Claude thinks at
 * a loop's start (and, interleaving, between its steps), and refuses thinking on a loop that did
 * not ("a final `assistant` message must start with a thinking block"); the client cannot give
 * what it did not keep (a streamed OpenAI answer carries no signatures; another server's
 * reasoning has none): that loop goes without thinking.
 */
function unthought(loop: MessagesTurns): boolean {
  if (!loop.some((message) => message.content.some((block) => block.type === "tool_use"))) return false
  const first = loop[0]?.content[0]
  return first === undefined || !isThinkingBlock(first)
}

/**
 * Takes the thinking out of the tool loop under way, for a request that does not think (the
 * client said `disabled`, or the loop did not start with thinking): Claude refuses it there then
 * ("When thinking is disabled, an `assistant` message in the final position cannot contain
 * `thinking`"). Earlier turns keep theirs, which Claude ignores. A turn of thinking alone stays
 * (it would be empty), and Claude's refusal comes back.
 */
function withoutThinking(loop: MessagesTurns): void {
  for (const message of loop) {
    const kept = message.content.filter((block) => !isThinkingBlock(block))
    if (kept.length > 0) message.content = kept
  }
}

function displayOf(thinking: { display?: string }): Record<string, unknown> {
  return thinking.display === undefined ? {} : { display: thinking.display }
}

/** A user turn's blocks; a bad image is named by its client's field (`at`, the message's index here, if it has none). */
function userBlocks(message: UserMessage, at: number): Record<string, unknown>[] {
  return message.content.flatMap((part, partAt) => {
    if (part.type === "text") return textBlocks([part.text])
    const data = /^data:([^;,]+);base64,(.*)$/s.exec(part.url)
    if (data !== null)
      return { type: "image", source: { type: "base64", media_type: data[1], data: data[2] } }
    if (/^https?:/i.test(part.url)) return { type: "image", source: { type: "url", url: part.url } }
    throw new RequestFieldError(
      clientField(part, `messages[${at}].content[${partAt}].image_url.url`),
      "an image for Anthropic must be an http(s) URL or a base64 data: URL",
    )
  })
}

/**
 * An assistant turn's blocks, in their order. Reasoning goes as Claude gave it: a thinking block
 * with its signature, or the encrypted block; reasoning without a signature (another server's)
 * cannot be, and is left out. A turn with OpenRouter's items of Claude's (a turn Claude answered
 * through OpenRouter) starts with those as blocks, in place of its own. A call's arguments that
 * are no JSON object are named by the client's field (`at`, the message's index here, if it has none).
 * `argumentValues` counts the values of the request's calls' arguments so far.
 */
function assistantBlocks(
  message: AssistantMessage,
  at: number,
  argumentValues: { values: number },
): Record<string, unknown>[] {
  let toolCallAt = 0
  const blocks = message.content.flatMap((part): Record<string, unknown>[] => {
    if (part.type === "text") return textBlocks([part.text])
    if (part.type === "reasoning" || part.type === "redacted-reasoning") return thinkingBlocks([part])
    // OpenRouter's items: Claude's among them go first, below, when the turn has no thinking of its own.
    if (part.type === "reasoning-details") return []
    const path = clientField(part, `messages[${at}].tool_calls[${toolCallAt++}].function.arguments`)
    const text = part.arguments === "" ? "{}" : part.arguments
    // Bounded as a body is, before the parse (see textPassesBound): these are the client's JSON
    // too, and strings, whose values the body's bound did not count, so all the calls' together
    // are under one bound of values.
    const bounds = DEFAULT_JSON_TEXT_BOUNDS
    const passed = textPassesBound(text, bounds, argumentValues)
    if (passed === "depth") {
      throw new RequestFieldError(path, `nests arrays and objects more than ${bounds.maxDepth} levels deep`)
    }
    if (passed === "keys") {
      throw new RequestFieldError(
        path,
        `has an object of more than ${bounds.maxKeys} keys; no tool takes that many`,
      )
    }
    if (passed === "values") {
      throw new RequestFieldError(
        path,
        `brings the values of the tool calls' arguments (array items and object members) past ${bounds.maxValues}; no tool takes that many`,
      )
    }
    let input: unknown
    try {
      input = JSON.parse(text)
    } catch {
      input = undefined
    }
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      throw new RequestFieldError(path, "Anthropic takes a tool call's input as a JSON object")
    }
    return [{ type: "tool_use", id: part.id, name: part.name, input }]
  })
  const details = turnSentDetails(message)
  // An item without its text (given only as `delta.reasoning`) takes it from the turn's own block.
  const ownText = new Map(
    message.content.flatMap((part) =>
      part.type === "reasoning" && part.signature !== undefined ? [[part.signature, part.text]] : [],
    ),
  )
  const fromDetails = thinkingBlocks(
    claudeThinkingParts(details).map((part) =>
      part.type === "reasoning" && part.text === ""
        ? { ...part, text: ownText.get(part.signature ?? "") ?? "" }
        : part,
    ),
  )
  // The details are Claude's blocks as OpenRouter joined them, whatever their stream's order was;
  // the turn's own blocks are the same thinking as a client's view rendered it.
  return fromDetails.length === 0
    ? blocks
    : [...fromDetails, ...blocks.filter((block) => !isThinkingBlock(block))]
}

/** Reasoning as Claude takes it back: signed thinking, encrypted thinking; unsigned reasoning left out. */
function thinkingBlocks(
  parts: readonly (ReasoningPart | RedactedReasoningPart)[],
): Record<string, unknown>[] {
  return parts.flatMap((part): Record<string, unknown>[] =>
    part.type === "redacted-reasoning"
      ? [{ type: "redacted_thinking", data: part.data }]
      : part.signature === undefined
        ? []
        : [{ type: "thinking", thinking: part.text, signature: part.signature }],
  )
}

function isThinkingBlock(block: Record<string, unknown>): boolean {
  return block.type === "thinking" || block.type === "redacted_thinking"
}

/** Texts as Messages' text blocks, where it keeps texts a client gave apart as blocks (see {@link nonEmptyTexts}). */
function textBlocks(texts: readonly string[]): Record<string, unknown>[] {
  return nonEmptyTexts(texts).map((text) => ({ type: "text", text }))
}

/** A text the client gave as one, or as the blocks it gave apart: Messages keeps them apart. */
function textOrBlocks(
  joined: string,
  apart: readonly string[] | undefined,
): string | Record<string, unknown>[] {
  return apart === undefined ? joined : textBlocks(apart)
}

function toolResultBlock(message: ToolResultMessage): Record<string, unknown> {
  return {
    type: "tool_result",
    tool_use_id: message.toolCallId,
    content: textOrBlocks(message.content, message.contentBlocks),
    ...(message.isError === true && { is_error: true }),
  }
}
