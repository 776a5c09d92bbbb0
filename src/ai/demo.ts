import { demoAnswer } from "./demo-text.js"
import type { Entry } from "./entries.js"
import type { Provider } from "./provider.js"
import type { NormalizedRequest } from "./request.js"

/** How the demo model answers. */
export interface DemoProviderOptions {
  /** Milliseconds before the first token. Default 300. */
  timeToFirstTokenMs?: number
  /** Tokens per second after the first; `Infinity` sends them as fast as they can go. Default 40. */
  tokensPerSecond?: number
  /** About how many words the answer has, 1 to {@link MAX_DEMO_WORDS}. Default 60. */
  words?: number
  /** For tests: after the text, call this tool (one delta with the whole arguments) and finish with `tool_calls`. */
  toolCall?: { name: string; arguments: string }
  /** For tests: end with an error entry once this many tokens were sent (0: before any). */
  failAfterTokens?: number
}

/** The longest demo answer, in words. */
export const MAX_DEMO_WORDS = 10_000

type Tokenizer = typeof import("gpt-tokenizer/encoding/r50k_base")

let tokenizer: Promise<Tokenizer> | undefined

/**
 * gpt-tokenizer, loaded on first use so that nothing but the demo model pays for it. r50k_base
 * (GPT-3's) is the smallest of its encodings: on the reference machine it loads in ~180 ms,
 * against ~370 ms for cl100k_base and ~670 ms for o200k_base; any of them gives real tokens.
 */
function loadTokenizer(): Promise<Tokenizer> {
  tokenizer ??= import("gpt-tokenizer/encoding/r50k_base")
  return tokenizer
}

/**
 * The demo model: offline, no key, deterministic. It answers a prompt with a text built from the
 * prompt's words (the same prompt, the same answer), streamed as the real tokens of gpt-tokenizer
 * (r50k_base) after a time to first token, at a steady rate, with usage counted locally.
 */
export function demoProvider(options: DemoProviderOptions = {}): Provider {
  if (!((options.tokensPerSecond ?? 1) > 0)) throw new RangeError("tokensPerSecond must be above 0")
  if (!((options.timeToFirstTokenMs ?? 0) >= 0)) throw new RangeError("timeToFirstTokenMs must be 0 or more")
  // The answer is built whole before its first token: a huge one would hold the event loop.
  const { words, failAfterTokens, toolCall } = options
  if (words !== undefined && !(Number.isInteger(words) && words >= 1 && words <= MAX_DEMO_WORDS))
    throw new RangeError(`words must be a whole number from 1 to ${MAX_DEMO_WORDS}`)
  if (failAfterTokens !== undefined && !(Number.isInteger(failAfterTokens) && failAfterTokens >= 0))
    throw new RangeError("failAfterTokens must be a whole number, 0 or more")
  if (
    toolCall !== undefined &&
    (typeof toolCall !== "object" ||
      toolCall === null ||
      typeof toolCall.name !== "string" ||
      typeof toolCall.arguments !== "string")
  )
    throw new TypeError(
      'toolCall must be { "name": string, "arguments": string } (the arguments as JSON text)',
    )
  return {
    kind: "demo",
    stream: (request, signal) => streamDemo(request, signal, options),
  }
}

async function* streamDemo(
  request: NormalizedRequest,
  signal: AbortSignal,
  options: DemoProviderOptions,
): AsyncGenerator<Entry, void, undefined> {
  const { timeToFirstTokenMs = 300, tokensPerSecond = 40, words = 60, toolCall, failAfterTokens } = options
  const { encode, decodeGenerator } = await untilAborted(loadTokenizer(), signal)
  const text = demoAnswer(lastUserText(request), words)
  const answer = encode(text)
  // "max_tokens": the answer stops there, its finish reason `length`.
  const cut = request.maxTokens !== undefined && request.maxTokens < answer.length
  const tokens = cut ? answer.slice(0, request.maxTokens) : answer
  const inputTokens = countTokens(promptText(request), encode)
  const startedAt = Date.now()
  const intervalMs = 1000 / tokensPerSecond
  const failed = (): Entry => ({
    type: "error",
    message: `the demo model failed on purpose after ${failAfterTokens} tokens`,
    errorType: "demo_error",
    afterOutput: (failAfterTokens ?? 0) > 0,
  })
  if (failAfterTokens === 0) {
    yield failed()
    return
  }
  const pacer = abortablePacer(signal)
  try {
    for (const { text: piece, sent } of decodePieces(tokens, decodeGenerator)) {
      // Token n (from 1) is due at TTFT + (n - 1) intervals: a schedule, so timer lateness does not add up.
      await pacer.wait(startedAt + timeToFirstTokenMs + (sent - 1) * intervalMs - Date.now())
      yield { type: "text-delta", text: piece }
      signal.throwIfAborted()
      if (failAfterTokens !== undefined && sent >= failAfterTokens) {
        yield { type: "usage", inputTokens, outputTokens: sent }
        yield failed()
        return
      }
    }
  } finally {
    pacer.dispose()
  }
  if (toolCall !== undefined && !cut) {
    yield { type: "tool-call-start", index: 0, id: "call_demo_0", name: toolCall.name }
    yield { type: "tool-call-delta", index: 0, arguments: toolCall.arguments }
    yield { type: "tool-call-end", index: 0, arguments: toolCall.arguments }
  }
  const finishReason = cut ? "length" : toolCall === undefined ? "stop" : "tool_calls"
  yield { type: "finish", reason: finishReason, rawReason: finishReason }
  yield { type: "usage", inputTokens, outputTokens: tokens.length }
}

/** Past this many characters the prompt's tokens are estimated from its start: a huge prompt costs no more CPU than this. */
const COUNTED_PROMPT_CHARS = 65_536

/** `text`'s tokens: counted up to {@link COUNTED_PROMPT_CHARS}, in proportion past it. */
function countTokens(text: string, encode: Tokenizer["encode"]): number {
  if (text.length <= COUNTED_PROMPT_CHARS) return encode(text).length
  const sampled = encode(text.slice(0, COUNTED_PROMPT_CHARS)).length
  return Math.round((sampled * text.length) / COUNTED_PROMPT_CHARS)
}

/** The text the answer is about: the last user message's. */
function lastUserText(request: NormalizedRequest): string {
  const message = request.messages.filter((each) => each.role === "user").at(-1)
  return message?.content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join(" ") ?? ""
}

/** The prompt's text, for a local count of input tokens (message framing tokens are not counted). */
function promptText(request: NormalizedRequest): string {
  const parts = request.messages.flatMap((message) =>
    message.role === "tool"
      ? [message.content]
      : message.content.flatMap((part) =>
          part.type === "text" ? [part.text] : part.type === "tool-call" ? [part.arguments] : [],
        ),
  )
  return (request.system === undefined ? parts : [request.system, ...parts]).join("\n")
}

/**
 * The answer's pieces as they stream: decodeGenerator yields a piece once its bytes form whole
 * characters (a character may take several tokens), each with the number of tokens taken so far.
 */
function decodePieces(
  tokens: readonly number[],
  decodeGenerator: Tokenizer["decodeGenerator"],
): { readonly text: string; readonly sent: number }[] {
  let sent = 0
  const counted = (function* () {
    for (const token of tokens) {
      sent++
      yield token
    }
  })()
  const pieces: { text: string; sent: number }[] = []
  for (const text of decodeGenerator(counted)) pieces.push({ text, sent })
  return pieces
}

/**
 * Waits between tokens: `wait(ms)` resolves after `ms` (at once, without a timer, when ≤ 0) and
 * rejects with the abort reason, its timer cleared, the moment `signal` aborts. One abort
 * listener for the whole answer, not one per token.
 */
function abortablePacer(signal: AbortSignal): { wait(ms: number): Promise<void>; dispose(): void } {
  let pending:
    | { readonly timer: ReturnType<typeof setTimeout>; readonly reject: (reason: unknown) => void }
    | undefined
  const onAbort = (): void => {
    if (pending === undefined) return
    clearTimeout(pending.timer)
    pending.reject(signal.reason)
    pending = undefined
  }
  signal.addEventListener("abort", onAbort, { once: true })
  return {
    wait(ms) {
      signal.throwIfAborted()
      if (ms <= 0) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending = undefined
          resolve()
        }, ms)
        pending = { timer, reject }
      })
    },
    dispose: () => signal.removeEventListener("abort", onAbort),
  }
}

/** `promise`, or a rejection with the abort reason as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted()
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener("abort", onAbort, { once: true })
    promise.finally(() => signal.removeEventListener("abort", onAbort)).then(resolve, reject)
  })
}
