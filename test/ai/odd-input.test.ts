// Whatever JSON a client posts or an upstream streams, the AI endpoints' readers either read it or
// name the field they refuse (a 400), and the upstream translators read it or skip it: no other
// exception, which an endpoint would answer with a 500 and a generation would end failed with.
// Inputs are random JSON built from the formats' own field names, so they reach deep paths.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { foldAnswer } from "../../src/ai/answer.js"
import { AnthropicEventTranslator } from "../../src/ai/anthropic.js"
import type { Entry } from "../../src/ai/entries.js"
import { fromAISdkChatRequest } from "../../src/ai/from-ai-sdk-request.js"
import { fromAnthropicMessagesRequest } from "../../src/ai/from-anthropic-request.js"
import { fromOpenAIChatRequest } from "../../src/ai/from-openai-request.js"
import { OpenAIChunkTranslator } from "../../src/ai/openai.js"
import type { NormalizedRequest } from "../../src/ai/request.js"
import { RequestFieldError } from "../../src/ai/request-field-error.js"
import type { EventTranslator } from "../../src/ai/sse-over-http.js"
import { STREAM_FORMATS } from "../../src/ai/stream-formats.js"
import { idWithSignature, sentBackId } from "../../src/ai/thought-signature.js"
import { toAnthropicMessagesRequest } from "../../src/ai/to-anthropic-request.js"
import { toOpenAIChatRequest } from "../../src/ai/to-openai-request.js"

/** The field names and values of the three request formats and the two stream formats. */
const WORDS = [
  ...["model", "messages", "role", "content", "system", "user", "assistant", "tool", "developer"],
  ...["tool_calls", "function", "name", "arguments", "id", "type", "text", "image_url", "url"],
  ...["tools", "tool_choice", "stop", "max_tokens", "max_completion_tokens", "temperature", "top_p"],
  ...["response_format", "json_schema", "json_object", "schema", "input_schema", "tool_use_id"],
  ...["tool_use", "tool_result", "thinking", "redacted_thinking", "signature", "source", "base64"],
  ...["data", "media_type", "parts", "state", "input", "output", "toolCallId", "output-available"],
  ...["extra_content", "google", "thought_signature", "reasoning_content", "refusal", "parsed"],
  ...["callProviderMetadata", "thoughtSignature", "reasoning", "step-start", "tool-x", "file"],
  ...["index", "delta", "choices", "finish_reason", "usage", "error", "message", "content_block"],
  ...["stop_reason", "partial_json", "input_json_delta", "text_delta", "message_start"],
  ...["content_block_start", "content_block_delta", "content_block_stop", "message_delta"],
  ...["message_stop", "prompt_tokens", "completion_tokens", "input_tokens", "output_tokens"],
  ...["cache_control", "trigger", "submit-message", "constructor", "__proto__", "toString", "valueOf"],
  ...["reasoning_effort", "reasoningEffort", "output_config", "effort", "budget_tokens", "adaptive"],
  ...["thinking_blocks", "reasoning_details", "reasoning.text", "reasoning.encrypted", "providerMetadata"],
  ...["anthropic", "openrouter", "redactedData", "format", "summary", "reasoning.summary"],
  ...["anthropic-claude-v1", "__thought_signature__", "c1__thought_signature__sig", "google-gemini-v1"],
  ...["parallel_tool_calls", "disable_parallel_tool_use", "seed", "frequency_penalty", "presence_penalty"],
  ...["logit_bias", "top_k", "verbosity", "service_tier", "prompt_cache_key", "store", "metadata"],
]

const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom(...WORDS),
    fc.string({ maxLength: 8 }),
    fc.integer({ min: -2, max: 3 }),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    tie("list"),
    tie("object"),
  ),
  list: fc.array(tie("value"), { maxLength: 4 }),
  object: fc.dictionary(fc.constantFrom(...WORDS), tie("value"), { maxKeys: 6 }),
}))

const RUNS = Number(process.env.HERALD_ODD_INPUT_RUNS ?? 3000)

/** `value` as a client's JSON body would give it (fast-check makes objects without a prototype). */
const asParsed = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T
const jsonObject = json.object.map(asParsed)

/** Well-formed bodies of each format, with most of what each may hold. */
const SAMPLES: Record<"openai" | "anthropic" | "aiSdk", Record<string, unknown>> = {
  openai: {
    model: "m",
    temperature: 0.5,
    top_p: 0.9,
    max_tokens: 100,
    stop: ["END"],
    response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object" } } },
    tools: [{ type: "function", function: { name: "f", description: "d", parameters: { type: "object" } } }],
    tool_choice: { type: "function", function: { name: "f" } },
    reasoning_effort: "high",
    messages: [
      { role: "system", content: "Be brief." },
      {
        role: "user",
        content: [
          { type: "text", text: "hi" },
          { type: "image_url", image_url: { url: "https://x/y.png" } },
        ],
      },
      {
        role: "assistant",
        content: null,
        reasoning_content: "think",
        thinking_blocks: [
          { type: "thinking", thinking: "think", signature: "sig" },
          { type: "redacted_thinking", data: "enc" },
        ],
        reasoning_details: [
          {
            type: "reasoning.text",
            text: "think",
            signature: "sig",
            format: "anthropic-claude-v1",
            index: 0,
          },
          { type: "reasoning.encrypted", data: "enc", id: "c1", format: "google-gemini-v1", index: 0 },
        ],
        tool_calls: [
          {
            id: "c1",
            type: "function",
            function: { name: "f", arguments: '{"a":1}' },
            extra_content: { google: { thought_signature: "sig" } },
          },
        ],
      },
      { role: "tool", tool_call_id: "c1", content: "done" },
    ],
  },
  anthropic: {
    model: "m",
    max_tokens: 100,
    system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }],
    tools: [{ name: "f", description: "d", input_schema: { type: "object" } }],
    tool_choice: { type: "tool", name: "f" },
    thinking: { type: "enabled", budget_tokens: 2048, display: "omitted" },
    output_config: { effort: "medium" },
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "hi" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBO" } },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "think", signature: "sig" },
          { type: "redacted_thinking", data: "enc" },
          { type: "tool_use", id: "t1", name: "f", input: { a: 1 } },
        ],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "done" }] },
    ],
  },
  aiSdk: {
    id: "chat",
    trigger: "submit-message",
    reasoningEffort: "low",
    messages: [
      {
        id: "u",
        role: "user",
        parts: [
          { type: "text", text: "hi" },
          { type: "file", mediaType: "image/png", url: "data:image/png;base64,iVBO" },
        ],
      },
      {
        id: "a",
        role: "assistant",
        parts: [
          { type: "step-start" },
          { type: "reasoning", text: "think", providerMetadata: { anthropic: { signature: "sig" } } },
          { type: "reasoning", text: "", providerMetadata: { anthropic: { redactedData: "enc" } } },
          {
            type: "reasoning",
            text: "",
            providerMetadata: {
              openrouter: { reasoning_details: [{ type: "reasoning.encrypted", data: "e" }] },
            },
          },
          {
            type: "tool-f",
            toolCallId: "c1",
            state: "output-available",
            input: { a: 1 },
            output: "done",
            callProviderMetadata: { google: { thoughtSignature: "sig" } },
          },
        ],
      },
    ],
  },
}

/** Every path to a value inside `value`, as lists of keys. */
function pathsOf(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== "object" || value === null) return [at]
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, index) => index) : Object.keys(value)
  return [
    at,
    ...keys.flatMap((key) => pathsOf((value as Record<string | number, unknown>)[key], [...at, key])),
  ]
}

/** `sample` with the value at each chosen path replaced by another (or removed, for `undefined`). */
const mutated = (sample: Record<string, unknown>) =>
  fc.array(fc.tuple(fc.nat(), fc.option(json.value, { nil: undefined })), { maxLength: 3 }).map((changes) => {
    const body = structuredClone(sample)
    for (const [pick, replacement] of changes) {
      const paths = pathsOf(body).filter((path) => path.length > 0)
      const path = paths[pick % paths.length]
      if (path === undefined) continue
      const parent = path
        .slice(0, -1)
        .reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], body)
      const key = path[path.length - 1] as string | number
      if (replacement === undefined) delete (parent as Record<string | number, unknown>)[key]
      else (parent as Record<string | number, unknown>)[key] = replacement
    }
    return asParsed(body)
  })

/** Runs `read`; a RequestFieldError is a refusal naming a field, anything else a bug. */
function readOrRefuse<T>(read: () => T): T | undefined {
  try {
    return read()
  } catch (error) {
    if (error instanceof RequestFieldError) return undefined
    throw error
  }
}

/** Writes `request` for both upstream formats: each writes it or names what it cannot. */
function writeBoth(request: NormalizedRequest | undefined): void {
  if (request === undefined) return
  readOrRefuse(() =>
    toOpenAIChatRequest(request, {
      thoughtSignatures: true,
      reasoningWithToolCalls: true,
      reasoningDetails: true,
      topK: true,
    }),
  )
  readOrRefuse(() => toAnthropicMessagesRequest(request))
}

describe("odd input", () => {
  it("a request body is read or refused by a field's name, in each format, and written for either upstream", () => {
    const read = { openai: 0, anthropic: 0, aiSdk: 0 }
    fc.assert(
      fc.property(
        fc.record({
          openai: mutated(SAMPLES.openai),
          anthropic: mutated(SAMPLES.anthropic),
          aiSdk: mutated(SAMPLES.aiSdk),
        }),
        jsonObject,
        (bodies, junk) => {
          const requests = {
            openai: readOrRefuse(() => fromOpenAIChatRequest(bodies.openai)),
            anthropic: readOrRefuse(() => fromAnthropicMessagesRequest(bodies.anthropic)),
            aiSdk: readOrRefuse(() => fromAISdkChatRequest(bodies.aiSdk, "m"))?.request,
          }
          for (const [format, request] of Object.entries(requests)) {
            if (request !== undefined) read[format as keyof typeof read]++
            writeBoth(request)
          }
          // And bodies of no format at all.
          readOrRefuse(() => fromOpenAIChatRequest(junk))
          readOrRefuse(() => fromAnthropicMessagesRequest(junk))
          readOrRefuse(() => fromAISdkChatRequest(junk, "m"))
        },
      ),
      { numRuns: RUNS },
    )
    // Some bodies were read whole: the writers were reached, not only the readers' first checks.
    expect(Math.min(...Object.values(read))).toBeGreaterThan(0)
  })

  it("a call's id and its signature come back apart from the id a client was given, whatever the id holds", () => {
    // Gemini's signatures are base64.
    const signature = fc.base64String({ minLength: 4 })
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constantFrom(...WORDS)), signature, (id, sig) => {
        expect(sentBackId(idWithSignature(id, sig))).toEqual({ id, signature: sig })
        expect(idWithSignature(id, undefined)).toBe(id)
      }),
      { numRuns: RUNS },
    )
  })

  it("a type that is an object with its own toString is refused by name, not a crash (it had been a 500)", () => {
    const body = JSON.parse('{"model":"m","messages":[{"role":"user","content":[{"type":{"toString":1}}]}]}')
    expect(() => fromOpenAIChatRequest(body)).toThrow(RequestFieldError)
    const blocks = JSON.parse('{"model":"m","messages":[{"role":"user","content":[{"type":{"valueOf":1}}]}]}')
    expect(() => fromAnthropicMessagesRequest(blocks)).toThrow(RequestFieldError)
  })

  it("any sequence of stream frames is translated or skipped, and ends; what it gives renders in every view and whole", () => {
    const context = {
      id: "gen",
      meta: { model: "m", format: "openai" as const, owner: undefined, createdAt: 0, includeUsage: true },
    }
    fc.assert(
      fc.property(fc.array(jsonObject, { maxLength: 8 }), (frames) => {
        const translators: EventTranslator[] = [new OpenAIChunkTranslator(), new AnthropicEventTranslator()]
        for (const translator of translators) {
          const given: Entry[] = []
          for (const frame of frames) {
            const { entries, end } = translator.translate(frame)
            expect(Array.isArray(entries)).toBe(true)
            given.push(...(entries as Entry[]))
            if (end) break
          }
          given.push(...((translator.flush?.() ?? []) as Entry[]))
          for (const format of Object.values(STREAM_FORMATS)) {
            const view = format.view(context)
            for (const entry of given) {
              for (const event of view.render(entry)) expect(typeof event.data).toBe("string")
            }
            JSON.stringify(format.errors.answer(foldAnswer(given), context))
          }
        }
      }),
      { numRuns: RUNS },
    )
  })
})
