// What real OpenAI-compatible and Anthropic servers send besides the documented happy path, fed
// through Herald, each answer read by the official SDKs in both formats.
import Anthropic from "@anthropic-ai/sdk"
import type { UIMessage } from "ai"
import OpenAI from "openai"
import { describe, expect, it } from "vitest"
import { closedAfterEach, closeServers, readEvents, startAI } from "./ai-server.js"
import { builtBlocks } from "./anthropic-events.js"
import { finalUIMessage } from "./ui-message-stream.js"
import {
  ANTHROPIC_OK,
  anthropicBlock,
  anthropicEnd,
  anthropicEvent,
  OPENAI_OK,
  openaiChunk,
  startUpstream,
} from "./upstream.js"

const servers = closedAfterEach()

/** Anthropic's `message_start` with `usage`. */
function anthropicStart(usage: Record<string, number>): string {
  return anthropicEvent("message_start", {
    message: { id: "msg_up", type: "message", role: "assistant", content: [], model: "m", usage },
  })
}

const ANTHROPIC_START = anthropicStart({ input_tokens: 3 })

/**
 * Herald in front of an upstream answering `chunks`; `provider` is the upstream's format,
 * `settings` more of the model's settings.
 */
async function heraldOver(
  provider: "openai" | "anthropic",
  chunks: string[],
  settings: {
    readonly thoughtSignatures?: boolean
    readonly reasoningWithToolCalls?: boolean
    readonly topK?: boolean
  } = {},
): Promise<string> {
  const upstream = await startUpstream()
  servers.upstream = upstream
  upstream.answer = { chunks }
  const running = await startAI({ models: { up: { provider, baseURL: upstream.baseURL, ...settings } } })
  servers.running = running
  return running.origin
}

function openai(origin: string): OpenAI {
  return new OpenAI({ baseURL: `${origin}/v1`, apiKey: "unused", maxRetries: 0 })
}

function anthropic(origin: string): Anthropic {
  return new Anthropic({ baseURL: origin, apiKey: "unused", maxRetries: 0 })
}

/** The streamed answer as openai-node's stream helper accumulates it. */
async function openaiMessage(origin: string) {
  const stream = openai(origin).chat.completions.stream({
    model: "up",
    messages: [{ role: "user", content: "hi" }],
  })
  const completion = await stream.finalChatCompletion()
  return completion.choices[0]
}

/**
 * Asks `origin` once (not streaming), then sends the answer back as history followed by `after`
 * (a tool's results, the next question); resolves with the answer and the next reply.
 */
async function askThenSendBack(origin: string, after: OpenAI.ChatCompletionMessageParam[]) {
  const client = openai(origin)
  const question = { role: "user" as const, content: "hi" }
  const first = await client.chat.completions.create({ model: "up", messages: [question] })
  const answer = first.choices[0]?.message
  if (answer === undefined) throw new Error("no answer")
  const next = await client.chat.completions.create({ model: "up", messages: [question, answer, ...after] })
  return { answer, next }
}

const ANTHROPIC_REQUEST = {
  model: "up",
  max_tokens: 50,
  messages: [{ role: "user" as const, content: "hi" }],
}

/** The streamed answer as @anthropic-ai/sdk's MessageStream accumulates it. */
function anthropicMessage(origin: string) {
  return anthropic(origin).messages.stream(ANTHROPIC_REQUEST).finalMessage()
}

/** The answer when not streaming. */
function anthropicWholeMessage(origin: string) {
  return anthropic(origin).messages.create(ANTHROPIC_REQUEST)
}

const TWO_CALLS = [
  { id: "call_a", type: "function", function: { name: "weather", arguments: { city: "Oslo" } } },
  { id: "call_b", type: "function", function: { name: "time", arguments: { zone: "CET" } } },
]

describe("OpenAI-compatible upstreams", () => {
  it("parallel tool calls with interleaved argument fragments reach both SDKs whole", async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({
        tool_calls: [
          { index: 0, id: "call_a", type: "function", function: { name: "weather", arguments: "" } },
          { index: 1, id: "call_b", type: "function", function: { name: "time", arguments: "" } },
        ],
      }),
      openaiChunk({
        tool_calls: [
          { index: 0, function: { arguments: '{"city":' } },
          { index: 1, function: { arguments: '{"zone":' } },
        ],
      }),
      openaiChunk({
        tool_calls: [
          { index: 0, function: { arguments: '"Oslo"}' } },
          { index: 1, function: { arguments: '"CET"}' } },
        ],
      }),
      openaiChunk({}, "tool_calls"),
      "data: [DONE]\n\n",
    ])
    const choice = await openaiMessage(origin)
    expect(
      choice?.message.tool_calls?.map(
        (call) => call.type === "function" && JSON.parse(call.function.arguments),
      ),
    ).toEqual([{ city: "Oslo" }, { zone: "CET" }])
    const message = await anthropicMessage(origin)
    expect(message.content).toMatchObject([
      { type: "tool_use", id: "call_a", name: "weather", input: { city: "Oslo" } },
      { type: "tool_use", id: "call_b", name: "time", input: { zone: "CET" } },
    ])
    expect(message.stop_reason).toBe("tool_use")
  })

  it("a burst that renders to more than a reader's queue (3,000 calls in one write) reaches a reader that keeps up whole, in both formats", async () => {
    const calls = Array.from({ length: 3000 }, (_, index) => ({
      index,
      id: `call_${index}`,
      type: "function",
      function: { name: "lookup", arguments: `{"n":${index}}` },
    }))
    const origin = await heraldOver("openai", [
      // One write: the chunks joined.
      [openaiChunk({ tool_calls: calls }), openaiChunk({}, "tool_calls"), "data: [DONE]\n\n"].join(""),
    ])
    const choice = await openaiMessage(origin)
    expect(choice?.finish_reason).toBe("tool_calls")
    expect(choice?.message.tool_calls?.map((call) => call.id)).toEqual(calls.map((call) => call.id))
    const message = await anthropicMessage(origin)
    expect(message.stop_reason).toBe("tool_use")
    expect(message.content.map((block) => block.type === "tool_use" && block.input)).toEqual(
      calls.map((_, n) => ({ n })),
    )
  })

  it("a Claude call that takes no input reaches an OpenAI client's stream helper with arguments {}, as in the whole answer", async () => {
    const origin = await heraldOver("anthropic", [
      ANTHROPIC_START,
      anthropicEvent("content_block_start", {
        index: 0,
        content_block: { type: "tool_use", id: "toolu_1", name: "get_time", input: {} },
      }),
      anthropicEvent("content_block_delta", {
        index: 0,
        delta: { type: "input_json_delta", partial_json: "" },
      }),
      anthropicEvent("content_block_stop", { index: 0 }),
      anthropicEvent("message_delta", { delta: { stop_reason: "tool_use" }, usage: { output_tokens: 5 } }),
      anthropicEvent("message_stop"),
    ])
    const streamed = await openaiMessage(origin)
    expect(streamed?.message.tool_calls?.[0]).toMatchObject({
      function: { name: "get_time", arguments: "{}" },
    })
    const whole = await openai(origin).chat.completions.create({
      model: "up",
      messages: [{ role: "user", content: "hi" }],
    })
    expect(whole.choices[0]?.message.tool_calls?.[0]).toMatchObject({ function: { arguments: "{}" } })
  })

  it("text that comes in the middle of a tool call's arguments follows its block in Messages", async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({ tool_calls: [{ index: 0, id: "call_a", function: { name: "f", arguments: '{"x":' } }] }),
      openaiChunk({ content: "Note." }),
      openaiChunk({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }),
      openaiChunk({}, "tool_calls"),
      "data: [DONE]\n\n",
    ])
    const message = await anthropicMessage(origin)
    expect(message.content).toMatchObject([
      { type: "tool_use", id: "call_a", name: "f", input: { x: 1 } },
      { type: "text", text: "Note." },
    ])
  })

  it('finish_reason "" on every chunk (Ollama, older SGLang) is no finish; a repeated one counts once', async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({ content: "Hello" }, ""),
      openaiChunk(
        { tool_calls: [{ index: 0, id: "call_a", function: { name: "f", arguments: '{"x"' } }] },
        "",
      ),
      openaiChunk({ tool_calls: [{ index: 0, function: { arguments: ":1}" } }] }, ""),
      openaiChunk({ content: "" }, "tool_calls"),
      `data: ${JSON.stringify({ id: "up", choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }], usage: { prompt_tokens: 4, completion_tokens: 6 } })}\n\n`,
      "data: [DONE]\n\n",
    ])
    const events: string[] = []
    const stream = await openai(origin).chat.completions.create({
      model: "up",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    })
    for await (const chunk of stream) {
      const reason = chunk.choices[0]?.finish_reason
      if (reason) events.push(reason)
    }
    expect(events).toEqual(["tool_calls"])
    const message = await anthropicMessage(origin)
    expect(message.content).toMatchObject([
      { type: "text", text: "Hello" },
      { type: "tool_use", id: "call_a", name: "f", input: { x: 1 } },
    ])
  })

  it("an answer that ends with [DONE] and no finish_reason ends as its calls say, streamed and whole, the role chunk first", async () => {
    const call = {
      index: 0,
      id: "call_a",
      type: "function",
      function: { name: "weather", arguments: '{"city":"Oslo"}' },
    }
    for (const [chunks, reason] of [
      [[openaiChunk({ content: "Hi." }), "data: [DONE]\n\n"], "stop"],
      [[openaiChunk({ tool_calls: [call] }), "data: [DONE]\n\n"], "tool_calls"],
      [
        ['data: {"id":"up","choices":[]}\n\n', 'data: {"id":"up","choices":[]}\n\n', "data: [DONE]\n\n"],
        "stop",
      ],
    ] as const) {
      const origin = await heraldOver("openai", [...chunks])
      // openai-node's stream helper throws without a role chunk or a finish_reason.
      const streamed = await openaiMessage(origin)
      expect(streamed?.finish_reason).toBe(reason)
      const whole = await openai(origin).chat.completions.create({
        model: "up",
        messages: [{ role: "user", content: "hi" }],
      })
      expect(whole.choices[0]?.finish_reason).toBe(reason)
      expect(whole.choices[0]?.message.tool_calls ?? []).toHaveLength(reason === "tool_calls" ? 1 : 0)
      const message = await anthropicMessage(origin)
      expect(message.stop_reason).toBe(reason === "tool_calls" ? "tool_use" : "end_turn")
      await closeServers(servers)
    }
    // A Messages stream of an empty message: the OpenAI stream still has its role and finish.
    const origin = await heraldOver("anthropic", [ANTHROPIC_START, anthropicEvent("message_stop")])
    expect((await openaiMessage(origin))?.finish_reason).toBe("stop")
  })

  it("a tool call whose id and name come after its first fragment keeps them", async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({ tool_calls: [{ index: 0, function: { arguments: "" } }] }),
      openaiChunk({ tool_calls: [{ index: 0, function: { arguments: '{"c":' } }] }),
      openaiChunk({
        tool_calls: [{ index: 0, id: "call_real", function: { name: "get_weather", arguments: "1}" } }],
      }),
      openaiChunk({}, "tool_calls"),
      "data: [DONE]\n\n",
    ])
    const choice = await openaiMessage(origin)
    expect(choice?.message.tool_calls).toMatchObject([
      { id: "call_real", function: { name: "get_weather", arguments: '{"c":1}' } },
    ])
  })

  it("tool calls that all say index 0 (Ollama) stay apart by their ids, their fragments each to its own", async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({
        tool_calls: [
          { index: 0, id: "call_a", type: "function", function: { name: "weather", arguments: '{"city":' } },
        ],
      }),
      openaiChunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
      openaiChunk({
        tool_calls: [
          { index: 0, id: "call_b", type: "function", function: { name: "time", arguments: '{"zone":' } },
        ],
      }),
      openaiChunk({ tool_calls: [{ index: 0, id: "call_b", function: { arguments: '"CET"}' } }] }),
      openaiChunk({}, "tool_calls"),
      "data: [DONE]\n\n",
    ])
    const choice = await openaiMessage(origin)
    expect(
      choice?.message.tool_calls?.map(
        (call) => call.type === "function" && [call.id, JSON.parse(call.function.arguments)],
      ),
    ).toEqual([
      ["call_a", { city: "Oslo" }],
      ["call_b", { zone: "CET" }],
    ])
    const message = await anthropicWholeMessage(origin)
    expect(message.content).toMatchObject([
      { type: "tool_use", id: "call_a", name: "weather", input: { city: "Oslo" } },
      { type: "tool_use", id: "call_b", name: "time", input: { zone: "CET" } },
    ])
  })

  it("a call whose later fragments bring another id (Poolside, some vLLM builds) stays one call", async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({
        tool_calls: [
          { index: 0, id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":' } },
        ],
      }),
      openaiChunk({ tool_calls: [{ index: 0, id: "call_2", function: { arguments: '"Oslo"}' } }] }),
      openaiChunk({}, "tool_calls"),
      "data: [DONE]\n\n",
    ])
    const choice = await openaiMessage(origin)
    expect(
      choice?.message.tool_calls?.map(
        (call) => call.type === "function" && [call.id, call.function.arguments],
      ),
    ).toEqual([["call_1", '{"city":"Oslo"}']])
  })

  it("arguments nested too deep to write back reach an Anthropic client closed at 64 levels, streamed as whole, and an AI SDK client as their text", async () => {
    const deep = `{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`
    const origin = await heraldOver("openai", [
      openaiChunk({
        tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "f", arguments: deep } }],
      }),
      openaiChunk({}, "tool_calls"),
      "data: [DONE]\n\n",
    ])
    const closed = JSON.parse(`{"a":${"[".repeat(63)}${"]".repeat(63)}}`)
    const expected = [{ type: "tool_use", id: "call_a", name: "f", input: closed }]
    expect((await anthropicWholeMessage(origin)).content).toEqual(expected)
    expect((await anthropicMessage(origin)).content).toEqual(expected)
    const response = await fetch(`${origin}/v1/ai-sdk/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        id: "chat-deep",
        messages: [{ id: "u1", role: "user", parts: [{ type: "text", text: "hi" }] }],
        trigger: "submit-message",
      }),
    })
    // Read raw: the `ai` package's own reader parses the input's deltas into objects as deep and overflows.
    const available = (await response.text())
      .split("\n")
      .filter((line) => line.startsWith("data: {"))
      .map((line) => JSON.parse(line.slice(6)))
      .find((chunk) => chunk.type === "tool-input-available")
    expect(available).toMatchObject({ toolCallId: "call_a", input: deep })
  })

  it("arguments that are no JSON object reach an Anthropic client as {}, streamed as whole, a parallel call's too", async () => {
    const start = (index: number, id: string, args: string) =>
      openaiChunk({ tool_calls: [{ index, id, type: "function", function: { name: "f", arguments: args } }] })
    const more = (index: number, args: string) =>
      openaiChunk({ tool_calls: [{ index, function: { arguments: args } }] })
    const origin = await heraldOver("openai", [
      start(0, "call_text", "not "),
      more(0, "json"),
      // Started while the first call's block is open: sent whole at its end.
      start(1, "call_list", "[1,"),
      more(1, "2]"),
      start(2, "call_ok", ' {"a":'),
      more(2, "1}"),
      openaiChunk({}, "tool_calls"),
      "data: [DONE]\n\n",
    ])
    const expected = [
      { type: "tool_use", id: "call_text", input: {} },
      { type: "tool_use", id: "call_list", input: {} },
      { type: "tool_use", id: "call_ok", input: { a: 1 } },
    ]
    // The SDK parses what the stream gives: it threw on "not json", and gave [1,2] as the input.
    expect((await anthropicMessage(origin)).content).toMatchObject(expected)
    expect((await anthropicWholeMessage(origin)).content).toMatchObject(expected)
  })

  it("arguments broken inside or cut short reach an Anthropic client as their valid part, closed, streamed as whole", async () => {
    for (const [fragments, input] of [
      [['{"a": 1, "b": no', "pe}"], { a: 1 }],
      [['{"city": "Os', 'lo", "days": [1, 2'], { city: "Oslo", days: [1, 2] }],
      [["{'a': 1}"], {}],
    ] as const) {
      const origin = await heraldOver("openai", [
        ...fragments.map((text, index) =>
          openaiChunk({
            tool_calls: [
              index === 0
                ? { index: 0, id: "call_a", type: "function", function: { name: "f", arguments: text } }
                : { index: 0, function: { arguments: text } },
            ],
          }),
        ),
        openaiChunk({}, "length"),
        "data: [DONE]\n\n",
      ])
      const expected = [{ type: "tool_use", id: "call_a", input }]
      // The SDK parses the input_json_delta text: it threw on `no`, and the whole answer said {}.
      expect((await anthropicMessage(origin)).content, fragments.join("")).toMatchObject(expected)
      expect((await anthropicWholeMessage(origin)).content, fragments.join("")).toMatchObject(expected)
      await closeServers(servers)
    }
  })

  it("arguments that hold an object and then more reach an Anthropic client as that object, streamed as whole", async () => {
    for (const [fragments, input] of [
      [['{"a":', "1}", '{"a":1}'], { a: 1 }],
      [['{"b":"}{\\"', '"} </tool_call>'], { b: '}{"' }],
    ] as const) {
      const origin = await heraldOver("openai", [
        openaiChunk({
          tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "f", arguments: "" } }],
        }),
        ...fragments.map((text) =>
          openaiChunk({ tool_calls: [{ index: 0, function: { arguments: text } }] }),
        ),
        openaiChunk({}, "tool_calls"),
        "data: [DONE]\n\n",
      ])
      const expected = [{ type: "tool_use", id: "call_a", input }]
      expect((await anthropicMessage(origin)).content, fragments.join("")).toMatchObject(expected)
      expect((await anthropicWholeMessage(origin)).content, fragments.join("")).toMatchObject(expected)
      await closeServers(servers)
    }
  })

  it("tool calls without an index (Gemini's compatible endpoint) stay apart", async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({
        tool_calls: TWO_CALLS.map((call) => ({
          ...call,
          function: { ...call.function, arguments: JSON.stringify(call.function.arguments) },
        })),
      }),
      openaiChunk({}, "tool_calls"),
      "data: [DONE]\n\n",
    ])
    const message = await anthropicMessage(origin)
    expect(message.content).toMatchObject([
      { type: "tool_use", id: "call_a", name: "weather", input: { city: "Oslo" } },
      { type: "tool_use", id: "call_b", name: "time", input: { zone: "CET" } },
    ])
  })

  it("the deprecated delta.function_call is a tool call", async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({ function_call: { name: "lookup", arguments: '{"q":' } }),
      openaiChunk({ function_call: { arguments: '"herald"}' } }),
      openaiChunk({}, "function_call"),
      "data: [DONE]\n\n",
    ])
    const message = await anthropicMessage(origin)
    expect(message.content).toMatchObject([{ type: "tool_use", name: "lookup", input: { q: "herald" } }])
  })

  it("a refusal is the OpenAI answer's refusal, and text with stop reason refusal in Messages", async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({ role: "assistant", content: null, refusal: "" }),
      openaiChunk({ refusal: "I'm sorry, " }),
      openaiChunk({ refusal: "I can't help with that." }),
      openaiChunk({}, "content_filter"),
      "data: [DONE]\n\n",
    ])
    const choice = await openaiMessage(origin)
    expect(choice?.message.refusal).toBe("I'm sorry, I can't help with that.")
    expect(choice?.message.content ?? "").toBe("")
    const whole = await openai(origin).chat.completions.create({
      model: "up",
      messages: [{ role: "user", content: "hi" }],
    })
    expect(whole.choices[0]?.message).toMatchObject({
      content: null,
      refusal: "I'm sorry, I can't help with that.",
    })
    const message = await anthropicMessage(origin)
    expect(message.content).toMatchObject([{ type: "text", text: "I'm sorry, I can't help with that." }])
    expect(message.stop_reason).toBe("refusal")
  })

  it("a refusal that ends with stop, as OpenAI ends one, has stop reason refusal in a Messages stream and whole answer", async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({ role: "assistant", content: null, refusal: "" }),
      openaiChunk({ refusal: "I can't help with that." }),
      openaiChunk({}, "stop"),
      "data: [DONE]\n\n",
    ])
    const message = await anthropicMessage(origin)
    expect(message.content).toMatchObject([{ type: "text", text: "I can't help with that." }])
    expect(message.stop_reason).toBe("refusal")
    // And in the whole answer.
    expect((await anthropicWholeMessage(origin)).stop_reason).toBe("refusal")
  })

  it("a refusal's code reaches a client of the upstream's own format, and the upstream's field is named in the message", async () => {
    const origin = await heraldOver("openai", [])
    const refusal = {
      error: { message: "bad messages", type: "invalid_request_error", param: "messages", code: "bad" },
    }
    if (servers.upstream !== undefined)
      servers.upstream.answer = {
        chunks: [JSON.stringify(refusal)],
        status: 400,
        headers: { "content-type": "application/json" },
      }
    const error = await openai(origin)
      .chat.completions.create({ model: "up", messages: [{ role: "user", content: "hi" }] })
      .catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    // Not as `param`: the upstream's indices and names are those of the request Herald sent.
    expect(error).toMatchObject({ param: null, code: "bad" })
    expect((error as Error).message).toContain("bad messages (its field `messages`)")
  })

  it("a streamed error's code reaches a client that asked for the whole answer", async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({ role: "assistant", content: "Part" }),
      `data: ${JSON.stringify({ error: { message: "boom", type: "server_error", code: "internal" } })}\n\n`,
    ])
    const whole = await fetch(`${origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "up", messages: [{ role: "user", content: "hi" }] }),
    })
    expect(whole.status).toBe(502)
    expect(await whole.json()).toMatchObject({
      error: { message: "boom", type: "server_error", code: "internal" },
    })
  })

  it("an answer sent back as the next turn's history is accepted, its reasoning and refusal included", async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({ reasoning_content: "Think." }),
      openaiChunk({ content: "Answer." }),
      openaiChunk({}, "stop"),
      "data: [DONE]\n\n",
    ])
    const { answer, next } = await askThenSendBack(origin, [{ role: "user", content: "more" }])
    expect(answer).toMatchObject({ content: "Answer.", reasoning_content: "Think." })
    expect(next.choices[0]?.message.content).toBe("Answer.")
    // The reasoning is not sent to the model again; the text is.
    expect(servers.upstream?.requests[1]?.body.messages).toEqual([
      { role: "user", content: "hi" },
      { role: "assistant", content: "Answer." },
      { role: "user", content: "more" },
    ])
  })

  it("an answer's reasoning goes back with its tool calls to a model set to take it (DeepSeek's thinking mode), and to no other", async () => {
    const chunks = [
      openaiChunk({ reasoning_content: "Weather needs the tool." }),
      openaiChunk({
        tool_calls: [
          { index: 0, id: "call_w", type: "function", function: { name: "weather", arguments: "{}" } },
        ],
      }),
      openaiChunk({}, "tool_calls"),
      "data: [DONE]\n\n",
    ]
    for (const [settings, expected] of [
      [{ reasoningWithToolCalls: true }, "Weather needs the tool."],
      [{}, undefined],
    ] as const) {
      const origin = await heraldOver("openai", chunks, settings)
      await askThenSendBack(origin, [{ role: "tool", tool_call_id: "call_w", content: "sunny" }])
      const sent = servers.upstream?.requests[1]?.body.messages as Record<string, unknown>[]
      expect(sent[1]?.reasoning_content).toBe(expected)
      await closeServers(servers)
    }
  })

  it("the message openai-node's stream helper finishes with is accepted back as history", async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({ content: "Answer." }),
      openaiChunk({}, "stop"),
      "data: [DONE]\n\n",
    ])
    const client = openai(origin)
    const stream = client.chat.completions.stream({
      model: "up",
      messages: [{ role: "user", content: "hi" }],
    })
    const message = await stream.finalMessage()
    expect(message).toHaveProperty("parsed", null)
    const next = await client.chat.completions.create({
      model: "up",
      messages: [{ role: "user", content: "hi" }, message, { role: "user", content: "more" }],
    })
    expect(next.choices[0]?.message.content).toBe("Answer.")
  })

  it("a connection cut after the finish, before [DONE], ends the answer done, not failed", async () => {
    const upstream = await startUpstream()
    servers.upstream = upstream
    upstream.answer = (response, socket) => {
      response.writeHead(200, { "content-type": "text/event-stream" })
      response.write(`${openaiChunk({ content: "Whole" })}${openaiChunk({}, "stop")}`, () => socket.destroy())
    }
    const running = await startAI({ models: { up: { provider: "openai", baseURL: upstream.baseURL } } })
    servers.running = running
    const choice = await openaiMessage(running.origin)
    expect(choice).toMatchObject({ finish_reason: "stop", message: { content: "Whole" } })
  })

  it("text and calls an upstream sends after its finish_reason come before the OpenAI stream's finish chunk, which is last", async () => {
    const call = { index: 0, id: "call_a", type: "function", function: { name: "f", arguments: "{}" } }
    const origin = await heraldOver("openai", [
      openaiChunk({ content: "Hi" }),
      openaiChunk({}, "tool_calls"),
      openaiChunk({ content: " again" }),
      openaiChunk({ tool_calls: [call] }),
      "data: [DONE]\n\n",
    ])
    const stream = await openai(origin).chat.completions.create({
      model: "up",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    })
    const choices: OpenAI.ChatCompletionChunk.Choice[] = []
    for await (const chunk of stream) choices.push(...chunk.choices)
    expect(choices.map((choice) => choice.finish_reason)).toEqual([
      ...choices.slice(1).map(() => null),
      "tool_calls",
    ])
    expect(choices.map((choice) => choice.delta.content ?? "").join("")).toBe("Hi again")
    const streamed = await openaiMessage(origin)
    expect(streamed).toMatchObject({ finish_reason: "tool_calls", message: { content: "Hi again" } })
    expect(streamed?.message.tool_calls).toHaveLength(1)
  })
})

/** A tool call as Gemini's OpenAI-compatible endpoint streams it: whole, without an index, signed or not. */
function geminiCall(id: string, name: string, args: Record<string, unknown>, signature?: string) {
  return {
    id,
    type: "function",
    function: { name, arguments: JSON.stringify(args) },
    ...(signature !== undefined && { extra_content: { google: { thought_signature: signature } } }),
  }
}

/** The tool call fragments of a streamed answer, as the chunks carry them. */
async function streamedToolCallFragments(client: OpenAI): Promise<unknown[]> {
  const stream = await client.chat.completions.create({
    model: "up",
    stream: true,
    messages: [{ role: "user", content: "hi" }],
  })
  const fragments: unknown[] = []
  for await (const chunk of stream) fragments.push(...(chunk.choices[0]?.delta.tool_calls ?? []))
  return fragments
}

/** `extra_content.google.thought_signature` of an OpenAI-style tool call, if any. */
function signatureOn(call: unknown): unknown {
  return (call as { extra_content?: { google?: { thought_signature?: unknown } } }).extra_content?.google
    ?.thought_signature
}

/** The upstream's own ids of SIGNED_ANSWER's calls came back in request `request`, on the calls and on their results. */
function expectOwnIdsSentBack(request: number): void {
  const sent = servers.upstream?.requests[request]?.body.messages as Record<string, unknown>[]
  expect(sent[1]?.tool_calls).toMatchObject([{ id: "call_a" }, { id: "call_b" }])
  expect(sent.slice(2).map((message) => message.tool_call_id)).toEqual(["call_a", "call_b"])
}

/** The signatures on the tool calls of an upstream request's assistant message, the second request's by default. */
function signaturesSentBack(request = 1): unknown[] {
  const sent = servers.upstream?.requests[request]?.body.messages as Record<string, unknown>[]
  return ((sent[1]?.tool_calls ?? []) as unknown[]).map(signatureOn)
}

describe("Gemini's thought signatures on tool calls", () => {
  const SIGNED_ANSWER = [
    openaiChunk({
      tool_calls: [
        geminiCall("call_a", "weather", { city: "Oslo" }, "sig-A"),
        geminiCall("call_b", "time", { zone: "CET" }),
      ],
    }),
    openaiChunk({}, "tool_calls"),
    "data: [DONE]\n\n",
  ]

  it("reach OpenAI clients on the call they sign, streaming and not", async () => {
    const origin = await heraldOver("openai", SIGNED_ANSWER)
    const client = openai(origin)
    const fragments = await streamedToolCallFragments(client)
    expect(fragments.filter((fragment) => signatureOn(fragment) !== undefined)).toMatchObject([
      { index: 0, id: "call_a__thought_signature__sig-A", function: { name: "weather" } },
    ])
    expect(signatureOn(fragments[0])).toBe("sig-A")
    const whole = await client.chat.completions.create({
      model: "up",
      messages: [{ role: "user", content: "hi" }],
    })
    const calls = whole.choices[0]?.message.tool_calls ?? []
    expect(calls.map(signatureOn)).toEqual(["sig-A", undefined])
  })

  it("go back upstream with the calls when the answer is the next turn's history (a model set to send them)", async () => {
    const origin = await heraldOver("openai", SIGNED_ANSWER, { thoughtSignatures: true })
    await askThenSendBack(origin, [
      { role: "tool", tool_call_id: "call_a", content: "12 °C" },
      { role: "tool", tool_call_id: "call_b", content: "14:00" },
    ])
    expect(signaturesSentBack()).toEqual(["sig-A", undefined])
    const sent = servers.upstream?.requests[1]?.body.messages as Record<string, unknown>[]
    expect(sent[1]?.tool_calls).toMatchObject([{ id: "call_a" }, { id: "call_b" }])
  })

  it("are not sent to a server that is not Google's unless its model says so", async () => {
    const origin = await heraldOver("openai", SIGNED_ANSWER)
    const { answer } = await askThenSendBack(origin, [
      { role: "tool", tool_call_id: "call_a", content: "12 °C" },
    ])
    expect(answer.tool_calls?.map(signatureOn)).toEqual(["sig-A", undefined])
    expect(signaturesSentBack()).toEqual([undefined, undefined])
  })

  it("one that comes after its call's start follows the call's last fragment, and is in the whole answer", async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({
        tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "weather" } }],
      }),
      openaiChunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Oslo"}' } }] }),
      openaiChunk({
        tool_calls: [{ index: 0, extra_content: { google: { thought_signature: "sig-late" } } }],
      }),
      openaiChunk({}, "tool_calls"),
      "data: [DONE]\n\n",
    ])
    const client = openai(origin)
    const fragments = await streamedToolCallFragments(client)
    expect(fragments.map(signatureOn)).toEqual([undefined, undefined, "sig-late"])
    const whole = await client.chat.completions.create({
      model: "up",
      messages: [{ role: "user", content: "hi" }],
    })
    expect(whole.choices[0]?.message.tool_calls?.map(signatureOn)).toEqual(["sig-late"])
  })

  it("reach AI SDK clients as the call's provider metadata, and go back upstream from useChat's messages", async () => {
    const origin = await heraldOver("openai", SIGNED_ANSWER, { thoughtSignatures: true })
    const api = `${origin}/v1/ai-sdk/chat`
    const user: UIMessage = { id: "u1", role: "user", parts: [{ type: "text", text: "hi" }] }
    const response = await fetch(api, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "chat-signed", messages: [user], trigger: "submit-message" }),
    })
    const answer = await finalUIMessage(response)
    const tools = (answer?.parts ?? []).filter((part) => part.type.startsWith("tool-")) as {
      callProviderMetadata?: { google?: { thoughtSignature?: string } }
    }[]
    expect(tools.map((part) => part.callProviderMetadata?.google?.thoughtSignature)).toEqual([
      "sig-A",
      undefined,
    ])
    if (answer === undefined) throw new Error("no answer")
    // The app ran the tools: each part now has its output, as useChat sends it back.
    const ran = {
      ...answer,
      parts: answer.parts.map((part) =>
        part.type.startsWith("tool-") ? { ...part, state: "output-available", output: "done" } : part,
      ),
    }
    const next = await fetch(api, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "chat-signed", messages: [user, ran], trigger: "submit-message" }),
    })
    expect(next.status).toBe(200)
    await next.text()
    expect(signaturesSentBack()).toEqual(["sig-A", undefined])
    // An app that stores its messages without provider metadata: the call's id still carries it.
    const stripped = {
      ...ran,
      parts: ran.parts.map((part) => {
        const { callProviderMetadata: _dropped, ...kept } = part as Record<string, unknown>
        return kept
      }),
    }
    const again = await fetch(api, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "chat-signed", messages: [user, stripped], trigger: "submit-message" }),
    })
    expect(again.status).toBe(200)
    await again.text()
    expect(signaturesSentBack(2)).toEqual(["sig-A", undefined])
    expectOwnIdsSentBack(2)
  })

  it("ride in the call's id, so that a client keeping only a call's id, name and arguments (LangChain) sends them back", async () => {
    const origin = await heraldOver("openai", SIGNED_ANSWER, { thoughtSignatures: true })
    const client = openai(origin)
    const question = { role: "user" as const, content: "hi" }
    const streamed = await client.chat.completions
      .stream({ model: "up", messages: [question] })
      .finalChatCompletion()
    const calls = streamed.choices[0]?.message.tool_calls ?? []
    expect(calls.map((call) => call.id)).toEqual(["call_a__thought_signature__sig-A", "call_b"])
    // What a client that knows nothing of extra_content keeps of each call.
    const bare = calls.map((call) => {
      if (call.type !== "function") throw new Error("not a function call")
      return {
        id: call.id,
        type: call.type,
        function: { name: call.function.name, arguments: call.function.arguments },
      }
    })
    await client.chat.completions.create({
      model: "up",
      messages: [
        question,
        { role: "assistant", content: null, tool_calls: bare },
        ...bare.map((call) => ({ role: "tool" as const, tool_call_id: call.id, content: "done" })),
      ],
    })
    expect(signaturesSentBack()).toEqual(["sig-A", undefined])
    expectOwnIdsSentBack(1)
  })

  it("reach an Anthropic client (Claude Code) in the tool_use id, and go back to Gemini with its tool turn", async () => {
    const origin = await heraldOver("openai", SIGNED_ANSWER, { thoughtSignatures: true })
    const client = anthropic(origin)
    const whole = await anthropicWholeMessage(origin)
    const streamed = await anthropicMessage(origin)
    for (const message of [whole, streamed]) {
      expect(message.content.flatMap((block) => (block.type === "tool_use" ? [block.id] : []))).toEqual([
        "call_a__thought_signature__sig-A",
        "call_b",
      ])
    }
    await client.messages.create({
      ...ANTHROPIC_REQUEST,
      messages: [
        ...ANTHROPIC_REQUEST.messages,
        { role: "assistant", content: streamed.content },
        {
          role: "user",
          content: streamed.content.flatMap((block) =>
            block.type === "tool_use"
              ? [{ type: "tool_result" as const, tool_use_id: block.id, content: "done" }]
              : [],
          ),
        },
      ],
    })
    expect(signaturesSentBack(2)).toEqual(["sig-A", undefined])
    expectOwnIdsSentBack(2)
  })

  it("an id an upstream made is given back to it as it came, LiteLLM's `__thought__` in it included", async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({ tool_calls: [geminiCall("call_a__thought__bGl0ZWxsbQ==", "weather", { city: "Oslo" })] }),
      openaiChunk({}, "tool_calls"),
      "data: [DONE]\n\n",
    ])
    const { answer } = await askThenSendBack(origin, [
      { role: "tool", tool_call_id: "call_a__thought__bGl0ZWxsbQ==", content: "12 °C" },
    ])
    expect(answer.tool_calls?.map((call) => call.id)).toEqual(["call_a__thought__bGl0ZWxsbQ=="])
    const sent = servers.upstream?.requests[1]?.body.messages as Record<string, unknown>[]
    expect(sent[1]?.tool_calls).toMatchObject([{ id: "call_a__thought__bGl0ZWxsbQ==" }])
    expect(sent[2]?.tool_call_id).toBe("call_a__thought__bGl0ZWxsbQ==")
  })

  it("in an id another Herald made are given back to it whole; an empty signature field leaves the id's", async () => {
    const inner = "call_a__thought_signature__aW5uZXI="
    const origin = await heraldOver(
      "openai",
      [
        openaiChunk({ tool_calls: [geminiCall(inner, "weather", { city: "Oslo" }, "sig-A")] }),
        openaiChunk({}, "tool_calls"),
        "data: [DONE]\n\n",
      ],
      { thoughtSignatures: true },
    )
    const client = openai(origin)
    const question = { role: "user" as const, content: "hi" }
    const first = await client.chat.completions.create({ model: "up", messages: [question] })
    const call = first.choices[0]?.message.tool_calls?.[0]
    if (call?.type !== "function") throw new Error("no function call")
    expect(call.id).toBe(`${inner}__thought_signature__sig-A`)
    await client.chat.completions.create({
      model: "up",
      messages: [
        question,
        {
          role: "assistant",
          content: null,
          tool_calls: [{ ...call, extra_content: { google: { thought_signature: "" } } } as never],
        },
        { role: "tool", tool_call_id: call.id, content: "12 °C" },
      ],
    })
    expect(signaturesSentBack()).toEqual(["sig-A"])
    const sent = servers.upstream?.requests[1]?.body.messages as Record<string, unknown>[]
    expect(sent[1]?.tool_calls).toMatchObject([{ id: inner }])
    expect(sent[2]?.tool_call_id).toBe(inner)
  })

  it("one that comes after the start of a call sent whole in Messages (parallel calls) is in its tool_use id", async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({
        tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "weather" } }],
      }),
      openaiChunk({ tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "time" } }] }),
      openaiChunk({ tool_calls: [{ index: 0, function: { arguments: "{}" } }] }),
      openaiChunk({
        tool_calls: [
          { index: 1, function: { arguments: "{}" } },
          { index: 1, extra_content: { google: { thought_signature: "sig-late" } } },
        ],
      }),
      openaiChunk({}, "tool_calls"),
      "data: [DONE]\n\n",
    ])
    const message = await anthropicMessage(origin)
    expect(message.content.flatMap((block) => (block.type === "tool_use" ? [block.id] : []))).toEqual([
      "call_a",
      "call_b__thought_signature__sig-late",
    ])
  })

  it("a malformed one sent back is a 400 naming it", async () => {
    const origin = await heraldOver("openai", SIGNED_ANSWER)
    const call = {
      ...geminiCall("call_a", "weather", {}),
      extra_content: { google: { thought_signature: 5 } },
    }
    const refused = openai(origin).chat.completions.create({
      model: "up",
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: null, tool_calls: [call as never] },
      ],
    })
    await expect(refused).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining("messages[1].tool_calls[0].extra_content.google.thought_signature"),
    })
  })
})

describe("one tool call at a time", () => {
  const WEATHER = {
    type: "function" as const,
    function: { name: "weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
  }

  it("an OpenAI client's parallel_tool_calls reaches Claude as disable_parallel_tool_use, and an Anthropic client's reaches an OpenAI upstream", async () => {
    const anthropicOrigin = await heraldOver("anthropic", ANTHROPIC_OK)
    const answer = await openai(anthropicOrigin).chat.completions.create({
      model: "up",
      messages: [{ role: "user", content: "hi" }],
      tools: [WEATHER],
      parallel_tool_calls: false,
    })
    expect(answer.choices[0]?.message.content).toBe("Ok.")
    expect(servers.upstream?.requests[0]?.body.tool_choice).toEqual({
      type: "auto",
      disable_parallel_tool_use: true,
    })
    await closeServers(servers)
    const openaiOrigin = await heraldOver("openai", OPENAI_OK)
    await anthropic(openaiOrigin).messages.create({
      ...ANTHROPIC_REQUEST,
      tools: [
        { name: "weather", input_schema: { type: "object", properties: { city: { type: "string" } } } },
      ],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
    })
    expect(servers.upstream?.requests[0]?.body).toMatchObject({
      tool_choice: "required",
      parallel_tool_calls: false,
    })
  })
})

describe("sampling settings one format has", () => {
  it("reach an upstream of that format, and are a 400 naming them for the other", async () => {
    const openaiOrigin = await heraldOver("openai", OPENAI_OK)
    const settings = {
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      verbosity: "low" as const,
      service_tier: "flex" as const,
      prompt_cache_key: "chat-42",
    }
    // The SDK's types have no top_k any more; older clients still send it.
    const withTopK = { ...ANTHROPIC_REQUEST, top_k: 5 }
    await openai(openaiOrigin).chat.completions.create({
      model: "up",
      messages: [{ role: "user", content: "hi" }],
      ...settings,
    })
    expect(servers.upstream?.requests[0]?.body).toMatchObject(settings)
    const refused = anthropic(openaiOrigin).messages.create(withTopK)
    await expect(refused).rejects.toMatchObject({ status: 400, message: expect.stringContaining("top_k") })
    await closeServers(servers)
    const anthropicOrigin = await heraldOver("anthropic", ANTHROPIC_OK)
    await anthropic(anthropicOrigin).messages.create(withTopK)
    expect(servers.upstream?.requests[0]?.body.top_k).toBe(5)
    const seeded = openai(anthropicOrigin).chat.completions.create({
      model: "up",
      messages: [{ role: "user", content: "hi" }],
      seed: 7,
    })
    await expect(seeded).rejects.toMatchObject({ status: 400, message: expect.stringContaining("seed") })
    // Refused before anything is counted or kept: no generation was made.
    const raw = await fetch(`${anthropicOrigin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "up", messages: [{ role: "user", content: "hi" }], seed: 7 }),
    })
    expect(raw.status).toBe(400)
    expect(raw.headers.has("herald-generation-id")).toBe(false)
    expect(await raw.json()).toMatchObject({ error: { param: "seed" } })
    expect(servers.upstream?.requests).toHaveLength(1)
  })

  it("the end user a client names reaches either upstream in its own field; a malformed one is a 400 naming it", async () => {
    const openaiOrigin = await heraldOver("openai", OPENAI_OK)
    await openai(openaiOrigin).chat.completions.create({
      model: "up",
      messages: [{ role: "user", content: "hi" }],
      user: "user-123",
    })
    await anthropic(openaiOrigin).messages.create({ ...ANTHROPIC_REQUEST, metadata: { user_id: "user-456" } })
    expect(servers.upstream?.requests.map((request) => request.body.user)).toEqual(["user-123", "user-456"])
    await closeServers(servers)
    const anthropicOrigin = await heraldOver("anthropic", ANTHROPIC_OK)
    await anthropic(anthropicOrigin).messages.create({
      ...ANTHROPIC_REQUEST,
      metadata: { user_id: "user-456" },
    })
    await openai(anthropicOrigin).chat.completions.create({
      model: "up",
      messages: [{ role: "user", content: "hi" }],
      user: "user-123",
    })
    expect(servers.upstream?.requests.map((request) => request.body.metadata)).toEqual([
      { user_id: "user-456" },
      { user_id: "user-123" },
    ])
    for (const [path, body, field] of [
      ["/v1/messages", { ...ANTHROPIC_REQUEST, metadata: 42 }, "metadata"],
      ["/v1/messages", { ...ANTHROPIC_REQUEST, metadata: { team: "a" } }, "metadata.team"],
      ["/v1/chat/completions", { model: "up", messages: [{ role: "user", content: "hi" }], user: 7 }, "user"],
    ] as const) {
      const refused = await fetch(`${anthropicOrigin}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      })
      expect(refused.status).toBe(400)
      expect(JSON.stringify(await refused.json())).toContain(field)
    }
  })

  it("top_k reaches a Chat Completions server whose model says it takes it, from either client", async () => {
    const origin = await heraldOver("openai", OPENAI_OK, { topK: true })
    const withTopK = { ...ANTHROPIC_REQUEST, top_k: 5 }
    await anthropic(origin).messages.create(withTopK)
    expect(servers.upstream?.requests[0]?.body.top_k).toBe(5)
    // vLLM's clients send it as a field beside OpenAI's.
    const vllm = { model: "up", messages: [{ role: "user" as const, content: "hi" }], top_k: 40 }
    await openai(origin).chat.completions.create(vllm)
    expect(servers.upstream?.requests[1]?.body.top_k).toBe(40)
    await closeServers(servers)
    const claude = await heraldOver("anthropic", ANTHROPIC_OK)
    await openai(claude).chat.completions.create(vllm)
    expect(servers.upstream?.requests[0]?.body.top_k).toBe(40)
  })
})

describe("prompt cache counts", () => {
  it("an Anthropic upstream's cache reads and writes reach an Anthropic client apart, and an OpenAI client as cached_tokens", async () => {
    const origin = await heraldOver("anthropic", [
      anthropicStart({
        input_tokens: 5,
        cache_creation_input_tokens: 100,
        cache_read_input_tokens: 1000,
        output_tokens: 1,
      }),
      anthropicEvent("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
      anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text: "Hi." } }),
      anthropicEvent("content_block_stop", { index: 0 }),
      anthropicEvent("message_delta", { delta: { stop_reason: "end_turn" }, usage: { output_tokens: 2 } }),
      anthropicEvent("message_stop"),
    ])
    const anthropicUsage = {
      input_tokens: 5,
      cache_creation_input_tokens: 100,
      cache_read_input_tokens: 1000,
      output_tokens: 2,
    }
    expect((await anthropicMessage(origin)).usage).toMatchObject(anthropicUsage)
    const whole = await anthropicWholeMessage(origin)
    expect(whole.usage).toMatchObject(anthropicUsage)
    const stream = await openai(origin).chat.completions.create({
      model: "up",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "hi" }],
    })
    let usage: OpenAI.CompletionUsage | undefined | null
    for await (const chunk of stream) usage = chunk.usage ?? usage
    expect(usage).toEqual({
      prompt_tokens: 1105,
      completion_tokens: 2,
      total_tokens: 1107,
      prompt_tokens_details: { cached_tokens: 1000 },
    })
  })

  it("an OpenAI upstream's cached_tokens reach an Anthropic client as cache reads", async () => {
    const origin = await heraldOver("openai", [
      openaiChunk({ content: "Hi." }),
      openaiChunk({}, "stop"),
      `data: ${JSON.stringify({ id: "up", choices: [], usage: { prompt_tokens: 1200, completion_tokens: 2, total_tokens: 1202, prompt_tokens_details: { cached_tokens: 1024 } } })}\n\n`,
      "data: [DONE]\n\n",
    ])
    expect((await anthropicMessage(origin)).usage).toMatchObject({
      input_tokens: 176,
      cache_read_input_tokens: 1024,
      output_tokens: 2,
    })
    const whole = await openai(origin).chat.completions.create({
      model: "up",
      messages: [{ role: "user", content: "hi" }],
    })
    expect(whole.usage?.prompt_tokens_details).toEqual({ cached_tokens: 1024 })
  })
})

describe("usage counts that are no counts", () => {
  /** The generations' output-token counter as `/metrics` shows it. */
  async function outputTokensCounted(running: {
    ai: { metrics: { getSingleMetricAsString(name: string): Promise<string> } }
  }) {
    const text = await running.ai.metrics.getSingleMetricAsString("herald_ai_output_tokens_total")
    return text.split("\n").find((line) => line.startsWith("herald_ai_output_tokens_total{"))
  }

  it("a negative or endless count from either upstream is unknown: the answer's count is estimated and the metrics count on", async () => {
    for (const [provider, chunks] of [
      [
        "openai",
        [
          openaiChunk({ content: "Hi" }),
          openaiChunk({ content: "." }),
          openaiChunk({}, "stop"),
          `data: {"id":"up","choices":[],"usage":{"prompt_tokens":-5,"completion_tokens":1e999,"prompt_tokens_details":{"cached_tokens":-1}}}\n\n`,
          "data: [DONE]\n\n",
        ],
      ],
      [
        "anthropic",
        [
          anthropicEvent("message_start", {
            message: {
              id: "msg_up",
              type: "message",
              role: "assistant",
              content: [],
              model: "m",
              usage: { input_tokens: -3 },
            },
          }),
          anthropicEvent("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
          anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text: "Hi" } }),
          anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text: "." } }),
          anthropicEvent("content_block_stop", { index: 0 }),
          `event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":-7.5}}\n\n`,
          anthropicEvent("message_stop"),
        ],
      ],
    ] as const) {
      const upstream = await startUpstream()
      servers.upstream = upstream
      upstream.answer = { chunks: [...chunks] }
      const running = await startAI({ models: { up: { provider, baseURL: upstream.baseURL } } })
      servers.running = running
      const { data: whole, response } = await openai(running.origin)
        .chat.completions.create({ model: "up", messages: [{ role: "user", content: "hi" }] })
        .withResponse()
      // Two text deltas, each a token: the estimate, since the upstream's own counts are none.
      expect(whole.usage, provider).toEqual({ prompt_tokens: 0, completion_tokens: 2, total_tokens: 2 })
      const generation = await fetch(
        `${running.origin}/v1/generations/${response.headers.get("herald-generation-id")}`,
      )
      expect((await generation.json()).stats.usage, provider).toEqual({
        outputTokens: 2,
        source: "estimated",
      })
      // The count reached the metrics (where a negative one used to throw and end the process).
      await expect
        .poll(() => outputTokensCounted(running))
        .toBe('herald_ai_output_tokens_total{model="up"} 2')
      await closeServers(servers)
    }
  })
})

describe("Anthropic upstreams", () => {
  it("two thinking blocks stay two, each with its own signature", async () => {
    const thinking = (index: number, text: string, signature: string) => [
      anthropicEvent("content_block_start", { index, content_block: { type: "thinking", thinking: "" } }),
      anthropicEvent("content_block_delta", { index, delta: { type: "thinking_delta", thinking: text } }),
      anthropicEvent("content_block_delta", { index, delta: { type: "signature_delta", signature } }),
      anthropicEvent("content_block_stop", { index }),
    ]
    const origin = await heraldOver("anthropic", [
      ANTHROPIC_START,
      ...thinking(0, "First.", "SIG_A"),
      ...thinking(1, "Second.", "SIG_B"),
      anthropicEvent("content_block_start", { index: 2, content_block: { type: "text", text: "" } }),
      anthropicEvent("content_block_delta", { index: 2, delta: { type: "text_delta", text: "Done." } }),
      anthropicEvent("content_block_stop", { index: 2 }),
      anthropicEvent("message_delta", { delta: { stop_reason: "end_turn" }, usage: { output_tokens: 9 } }),
      anthropicEvent("message_stop"),
    ])
    const expected = [
      { type: "thinking", thinking: "First.", signature: "SIG_A" },
      { type: "thinking", thinking: "Second.", signature: "SIG_B" },
      { type: "text", text: "Done." },
    ]
    expect((await anthropicMessage(origin)).content).toMatchObject(expected)
    const whole = await anthropicWholeMessage(origin)
    expect(whole.content).toMatchObject(expected)
  })

  it("a tool_use block whose input comes whole in its start, and one left open at message_delta", async () => {
    const origin = await heraldOver("anthropic", [
      ANTHROPIC_START,
      anthropicEvent("content_block_start", {
        index: 0,
        content_block: { type: "tool_use", id: "toolu_a", name: "weather", input: { city: "Oslo" } },
      }),
      anthropicEvent("content_block_stop", { index: 0 }),
      anthropicEvent("content_block_start", {
        index: 1,
        content_block: { type: "tool_use", id: "toolu_b", name: "time", input: {} },
      }),
      anthropicEvent("content_block_delta", {
        index: 1,
        delta: { type: "input_json_delta", partial_json: '{"zone":"CET"}' },
      }),
      anthropicEvent("message_delta", { delta: { stop_reason: "tool_use" }, usage: { output_tokens: 9 } }),
      anthropicEvent("message_stop"),
    ])
    const choice = await openaiMessage(origin)
    expect(choice?.message.tool_calls).toMatchObject([
      { id: "toolu_a", function: { name: "weather", arguments: '{"city":"Oslo"}' } },
      { id: "toolu_b", function: { name: "time", arguments: '{"zone":"CET"}' } },
    ])
    expect((await anthropicMessage(origin)).content).toMatchObject([
      { type: "tool_use", id: "toolu_a", input: { city: "Oslo" } },
      { type: "tool_use", id: "toolu_b", input: { zone: "CET" } },
    ])
  })

  /** One tool_use block, whole in its start. */
  const toolUse = (index: number, id: string) =>
    anthropicEvent("content_block_start", {
      index,
      content_block: { type: "tool_use", id, name: "weather", input: { city: "Oslo" } },
    })

  it("a tool call ended with end_turn, or with no stop reason at all, ends as tool_use and tool_calls", async () => {
    for (const ending of [
      [anthropicEvent("message_delta", { delta: { stop_reason: "end_turn" }, usage: { output_tokens: 3 } })],
      [],
    ]) {
      const origin = await heraldOver("anthropic", [
        ANTHROPIC_START,
        toolUse(0, "toolu_a"),
        anthropicEvent("content_block_stop", { index: 0 }),
        ...ending,
        anthropicEvent("message_stop"),
      ])
      const message = await anthropicMessage(origin)
      expect(message.stop_reason).toBe("tool_use")
      expect(message.content).toMatchObject([{ type: "tool_use", id: "toolu_a", input: { city: "Oslo" } }])
      const choice = await openaiMessage(origin)
      expect(choice?.finish_reason).toBe("tool_calls")
      await closeServers(servers)
    }
  })

  it("model_context_window_exceeded reaches Anthropic clients as it came", async () => {
    const origin = await heraldOver("anthropic", [
      ANTHROPIC_START,
      anthropicEvent("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
      anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text: "Long" } }),
      anthropicEvent("content_block_stop", { index: 0 }),
      anthropicEvent("message_delta", {
        delta: { stop_reason: "model_context_window_exceeded" },
        usage: { output_tokens: 1 },
      }),
      anthropicEvent("message_stop"),
    ])
    expect((await anthropicMessage(origin)).stop_reason).toBe("model_context_window_exceeded")
    expect((await openaiMessage(origin))?.finish_reason).toBe("length")
  })

  it("a tool_use block without an id reaches every client with the id Herald made up, not one of the SDK's", async () => {
    const origin = await heraldOver("anthropic", [
      ANTHROPIC_START,
      ...anthropicBlock(
        0,
        { type: "tool_use", name: "weather", input: {} },
        { type: "input_json_delta", partial_json: '{"city":"Oslo"}' },
      ),
      ...anthropicEnd("tool_use", 5),
    ])
    const madeUp = /^toolu_[\w-]{12}0$/
    expect((await openaiMessage(origin))?.message.tool_calls?.[0]?.id).toMatch(madeUp)
    expect((await anthropicMessage(origin)).content[0]).toMatchObject({
      type: "tool_use",
      id: expect.stringMatching(madeUp),
    })
  })

  it("an error in OpenAI's shape (no type) is the answer's error, its message kept", async () => {
    const origin = await heraldOver("anthropic", [
      ANTHROPIC_START,
      anthropicEvent("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
      anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text: "Part" } }),
      `data: ${JSON.stringify({ error: { type: "overloaded_error", message: "Overloaded, try later" } })}\n\n`,
    ])
    await expect(anthropicMessage(origin)).rejects.toThrow(/Overloaded, try later/)
  })

  it("an answer with thinking blocks is accepted back as history, as are top-level cache_control and service_tier", async () => {
    const origin = await heraldOver("anthropic", [
      ANTHROPIC_START,
      anthropicEvent("content_block_start", { index: 0, content_block: { type: "thinking", thinking: "" } }),
      anthropicEvent("content_block_delta", {
        index: 0,
        delta: { type: "thinking_delta", thinking: "Hmm." },
      }),
      anthropicEvent("content_block_delta", {
        index: 0,
        delta: { type: "signature_delta", signature: "SIG" },
      }),
      anthropicEvent("content_block_stop", { index: 0 }),
      anthropicEvent("content_block_start", {
        index: 1,
        content_block: { type: "redacted_thinking", data: "xyz" },
      }),
      anthropicEvent("content_block_stop", { index: 1 }),
      toolUse(2, "toolu_a"),
      anthropicEvent("content_block_stop", { index: 2 }),
      anthropicEvent("message_delta", { delta: { stop_reason: "tool_use" }, usage: { output_tokens: 3 } }),
      anthropicEvent("message_stop"),
    ])
    const client = anthropic(origin)
    const answer = await client.messages.stream(ANTHROPIC_REQUEST).finalMessage()
    expect(answer.content.map((block) => block.type)).toEqual(["thinking", "redacted_thinking", "tool_use"])
    const next = await client.messages.create({
      ...ANTHROPIC_REQUEST,
      cache_control: { type: "ephemeral" },
      service_tier: "auto",
      max_tokens: 2048,
      thinking: { type: "enabled", budget_tokens: 1024 },
      messages: [
        ...ANTHROPIC_REQUEST.messages,
        { role: "assistant", content: answer.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_a", content: "rain" }] },
      ],
    } as Anthropic.MessageCreateParamsNonStreaming)
    expect(next.content.map((block) => block.type)).toEqual(["thinking", "redacted_thinking", "tool_use"])
    // The turn goes back as Claude gave it: its thinking, signed, and its encrypted thinking first.
    const sent = servers.upstream?.requests[1]?.body as Record<string, unknown>
    expect(sent.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "hi" }] },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "Hmm.", signature: "SIG" },
          { type: "redacted_thinking", data: "xyz" },
          { type: "tool_use", id: "toolu_a", name: "weather", input: { city: "Oslo" } },
        ],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_a", content: "rain" }] },
    ])
    expect(sent).not.toHaveProperty("cache_control")
  })
})

describe("tool calls that overlap", () => {
  const WEATHER = { id: "call_a", name: "weather", input: { city: "Oslo" } }
  const TIME = { id: "call_b", name: "time", input: { zone: "CET" } }

  /**
   * Every client's answer has both calls, each whole: the Anthropic SDK's streamed and whole
   * message, a replay of the Messages stream read strictly (blocks one after the other), the
   * OpenAI SDK's, and the AI SDK's UI message.
   */
  async function expectBothCallsWhole(origin: string): Promise<void> {
    const calls = [WEATHER, TIME]
    const toolUse = calls.map((call) => ({ type: "tool_use", ...call }))
    const stream = anthropic(origin).messages.stream(ANTHROPIC_REQUEST)
    const { response } = await stream.withResponse()
    const message = await stream.finalMessage()
    expect(message.content).toEqual(toolUse)
    expect(message.stop_reason).toBe("tool_use")
    const id = response.headers.get("herald-generation-id")
    const replay = await readEvents(await fetch(`${origin}/v1/generations/${id}/stream?format=anthropic`))
    expect(builtBlocks(replay)).toEqual(toolUse)
    expect((await anthropicWholeMessage(origin)).content).toEqual(toolUse)
    const asOpenAI = calls.map((call) => ({
      id: call.id,
      function: { name: call.name, arguments: JSON.stringify(call.input) },
    }))
    expect((await openaiMessage(origin))?.message.tool_calls).toMatchObject(asOpenAI)
    const whole = await openai(origin).chat.completions.create({
      model: "up",
      messages: [{ role: "user", content: "hi" }],
    })
    expect(whole.choices[0]?.message.tool_calls).toMatchObject(asOpenAI)
    const user: UIMessage = { id: "u1", role: "user", parts: [{ type: "text", text: "hi" }] }
    const ui = await finalUIMessage(
      await fetch(`${origin}/v1/ai-sdk/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: "chat-overlap", messages: [user], trigger: "submit-message" }),
      }),
    )
    expect(ui?.parts.filter((part) => part.type.startsWith("tool-"))).toMatchObject(
      calls.map((call) => ({ type: `tool-${call.name}`, toolCallId: call.id, input: call.input })),
    )
  }

  const inputDelta = (index: number, partialJson: string) =>
    anthropicEvent("content_block_delta", {
      index,
      delta: { type: "input_json_delta", partial_json: partialJson },
    })

  it("an Anthropic upstream's tool_use blocks that overlap, the later one stopping first, reach every client whole", async () => {
    const origin = await heraldOver("anthropic", [
      ANTHROPIC_START,
      anthropicEvent("content_block_start", {
        index: 0,
        content_block: { type: "tool_use", ...WEATHER, input: {} },
      }),
      anthropicEvent("content_block_start", {
        index: 1,
        content_block: { type: "tool_use", ...TIME, input: {} },
      }),
      inputDelta(0, '{"city":'),
      inputDelta(1, '{"zone":"CET"}'),
      anthropicEvent("content_block_stop", { index: 1 }),
      // Before, the Messages stream had closed the first block for the second: this was lost.
      inputDelta(0, '"Oslo"}'),
      anthropicEvent("content_block_stop", { index: 0 }),
      ...anthropicEnd("tool_use", 9),
    ])
    await expectBothCallsWhole(origin)
  })

  it("an OpenAI-compatible upstream's parallel calls, their fragments interleaved, reach every client whole", async () => {
    const fragment = (index: number, fields: Record<string, unknown>) =>
      openaiChunk({ tool_calls: [{ index, ...fields }] })
    const origin = await heraldOver("openai", [
      fragment(0, { id: WEATHER.id, type: "function", function: { name: WEATHER.name, arguments: "" } }),
      fragment(0, { function: { arguments: '{"city":' } }),
      fragment(1, { id: TIME.id, type: "function", function: { name: TIME.name, arguments: '{"zone":' } }),
      fragment(0, { function: { arguments: '"Oslo"}' } }),
      fragment(1, { function: { arguments: '"CET"}' } }),
      openaiChunk({}, "tool_calls"),
      "data: [DONE]\n\n",
    ])
    await expectBothCallsWhole(origin)
  })
})
