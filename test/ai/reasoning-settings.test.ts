// How much a model thinks, asked in one format and sent in the other, and Claude's signed thinking
// going back with a tool turn: through Herald, from the official SDKs and the `ai` package, to
// loopback upstreams that record what they were sent.
import Anthropic from "@anthropic-ai/sdk"
import type { UIMessage } from "ai"
import OpenAI from "openai"
import { describe, expect, it } from "vitest"
import { serverDefaults } from "../../src/ai/openai.js"
import { addReasoningDetail } from "../../src/ai/reasoning-details.js"
import { toAnthropicMessagesRequest } from "../../src/ai/to-anthropic-request.js"
import { toOpenAIChatRequest } from "../../src/ai/to-openai-request.js"
import { closedAfterEach, closeServers, startAI } from "./ai-server.js"
import { finalUIMessage } from "./ui-message-stream.js"
import {
  ANTHROPIC_OK,
  anthropicEvent,
  CLAUDE_BLOCKS_BACK,
  CLAUDE_OMITTED_THINKING_BACK,
  CLAUDE_OMITTED_THINKING_THEN_TOOL,
  CLAUDE_THINKING_THEN_TOOL,
  OPENAI_OK,
  openaiChunk,
  startUpstream,
} from "./upstream.js"

const servers = closedAfterEach()

/** Herald in front of an upstream of `provider`'s format answering `chunks`; its origin. */
async function heraldOver(
  provider: "openai" | "anthropic",
  chunks: string[],
  settings: { readonly reasoningDetails?: boolean } = {},
): Promise<string> {
  const upstream = await startUpstream()
  servers.upstream = upstream
  upstream.answer = { chunks }
  const running = await startAI({ models: { up: { provider, baseURL: upstream.baseURL, ...settings } } })
  servers.running = running
  return running.origin
}

/** The body of the upstream's `n`-th request. */
function sent(n = 0): Record<string, unknown> {
  const body = servers.upstream?.requests[n]?.body
  if (body === undefined) throw new Error(`the upstream got no request ${n}`)
  return body
}

function openai(origin: string): OpenAI {
  return new OpenAI({ baseURL: `${origin}/v1`, apiKey: "unused", maxRetries: 0 })
}

function anthropic(origin: string): Anthropic {
  return new Anthropic({ baseURL: origin, apiKey: "unused", maxRetries: 0 })
}

const HI = [{ role: "user" as const, content: "hi" }]

describe("an OpenAI client's reasoning_effort", () => {
  it("asks Claude for adaptive thinking at that effort; none turns thinking off", async () => {
    const origin = await heraldOver("anthropic", ANTHROPIC_OK)
    const ask = (effort: OpenAI.ReasoningEffort) =>
      openai(origin).chat.completions.create({ model: "up", messages: HI, reasoning_effort: effort })
    await ask("high")
    await ask("minimal")
    await ask("none")
    expect(sent(0)).toMatchObject({ thinking: { type: "adaptive" }, output_config: { effort: "high" } })
    // Messages has no `minimal`: its nearest level.
    expect(sent(1)).toMatchObject({ thinking: { type: "adaptive" }, output_config: { effort: "low" } })
    expect(sent(2).thinking).toEqual({ type: "disabled" })
    expect(sent(2)).not.toHaveProperty("output_config")
  })

  it("reaches an OpenAI-compatible upstream as it came, and is not sent when not asked", async () => {
    const origin = await heraldOver("openai", OPENAI_OK)
    await openai(origin).chat.completions.create({ model: "up", messages: HI, reasoning_effort: "xhigh" })
    await openai(origin).chat.completions.create({ model: "up", messages: HI })
    expect(sent(0).reasoning_effort).toBe("xhigh")
    expect(sent(1)).not.toHaveProperty("reasoning_effort")
  })
})

describe("an Anthropic client's thinking", () => {
  it("reaches Claude as it was asked, budget, display and effort included", async () => {
    const origin = await heraldOver("anthropic", ANTHROPIC_OK)
    await anthropic(origin).messages.create({
      model: "up",
      max_tokens: 9000,
      messages: HI,
      thinking: { type: "enabled", budget_tokens: 5000, display: "omitted" },
    } as Anthropic.MessageCreateParamsNonStreaming)
    await anthropic(origin).messages.create({
      model: "up",
      max_tokens: 9000,
      messages: HI,
      thinking: { type: "adaptive" },
      output_config: { effort: "max" },
    } as Anthropic.MessageCreateParamsNonStreaming)
    expect(sent(0)).toMatchObject({
      max_tokens: 9000,
      thinking: { type: "enabled", budget_tokens: 5000, display: "omitted" },
    })
    expect(sent(1)).toMatchObject({ thinking: { type: "adaptive" }, output_config: { effort: "max" } })
  })

  it("asks an OpenAI-compatible upstream for the effort its budget falls in", async () => {
    const origin = await heraldOver("openai", OPENAI_OK)
    const asked: Anthropic.ThinkingConfigParam[] = [
      { type: "enabled", budget_tokens: 1024 },
      { type: "enabled", budget_tokens: 2048 },
      { type: "enabled", budget_tokens: 16000 },
      { type: "disabled" },
      { type: "adaptive" } as never,
    ]
    for (const thinking of asked) {
      await anthropic(origin).messages.create({ model: "up", max_tokens: 20000, messages: HI, thinking })
    }
    const efforts = servers.upstream?.requests.map((request) => request.body.reasoning_effort)
    // Adaptive leaves the effort to the model's default.
    expect(efforts).toEqual(["low", "medium", "high", "none", undefined])
    // An effort asked beside the thinking wins.
    await anthropic(origin).messages.create({
      model: "up",
      max_tokens: 9000,
      messages: HI,
      thinking: { type: "enabled", budget_tokens: 1024 },
      output_config: { effort: "high" },
    } as Anthropic.MessageCreateParamsNonStreaming)
    expect(sent(5).reasoning_effort).toBe("high")
  })
})

describe("writing a request", () => {
  it("gives Claude a max_tokens above the thinking budget when the request sets none", () => {
    const request = { model: "m", messages: [] }
    expect(toAnthropicMessagesRequest(request).max_tokens).toBe(4096)
    const thinking = { type: "enabled" as const, budgetTokens: 6000 }
    expect(toAnthropicMessagesRequest({ ...request, thinking }).max_tokens).toBe(10096)
    expect(toAnthropicMessagesRequest({ ...request, thinking, maxTokens: 8000 }).max_tokens).toBe(8000)
  })

  it("sends a tool loop's turn without thinking when the turn's own thinking was not kept (Claude refuses it)", () => {
    const user = { role: "user" as const, content: [{ type: "text" as const, text: "hi" }] }
    const call = { type: "tool-call" as const, id: "c1", name: "f", arguments: "{}" }
    const result = { role: "tool" as const, toolCallId: "c1", content: "done" }
    const loop = (...first: { type: "reasoning"; text: string; signature?: string }[]) => ({
      model: "m",
      messages: [user, { role: "assistant" as const, content: [...first, call] }, result],
      thinking: { type: "adaptive" as const },
      effort: "high",
    })
    // Reasoning from an OpenAI client, unsigned: no thinking for this turn; the effort stays.
    expect(toAnthropicMessagesRequest(loop({ type: "reasoning", text: "Hmm." }))).not.toHaveProperty(
      "thinking",
    )
    expect(toAnthropicMessagesRequest(loop()).output_config).toEqual({ effort: "high" })
    // Signed: thinking as asked.
    const signed = loop({ type: "reasoning", text: "Hmm.", signature: "SIG" })
    expect(toAnthropicMessagesRequest(signed).thinking).toEqual({ type: "adaptive" })
    // A new question after the loop's answer: thinking as asked.
    const answered = {
      ...loop(),
      messages: [
        ...loop().messages,
        { role: "assistant" as const, content: [{ type: "text" as const, text: "Done." }] },
        user,
      ],
    }
    expect(toAnthropicMessagesRequest(answered).thinking).toEqual({ type: "adaptive" })
    // Thinking turned off is said whatever the history.
    expect(toAnthropicMessagesRequest({ ...loop(), thinking: { type: "disabled" } }).thinking).toEqual({
      type: "disabled",
    })
  })

  it("joins the reasoning details of a turn's parts again, as OpenRouter sent them", () => {
    const part = (details: Record<string, unknown>[]) => ({ type: "reasoning-details" as const, details })
    const request = {
      model: "m",
      messages: [
        {
          role: "assistant" as const,
          content: [
            part([{ type: "reasoning.text", text: "Look.", index: 0 }]),
            { type: "text" as const, text: "Rain." },
            part([{ type: "reasoning.text", signature: "SIG", index: 0 }]),
          ],
        },
      ],
    }
    expect((toOpenAIChatRequest(request, { reasoningDetails: true }).messages as unknown[])[0]).toEqual({
      role: "assistant",
      content: "Rain.",
      reasoning_details: [{ type: "reasoning.text", text: "Look.", index: 0, signature: "SIG" }],
    })
  })

  it("takes the thinking out of the tool loop under way when the request to Claude does not think", () => {
    const user = (text: string) => ({ role: "user" as const, content: [{ type: "text" as const, text }] })
    const signed = { type: "reasoning" as const, text: "Hmm.", signature: "SIG" }
    const call = (id: string) => ({ type: "tool-call" as const, id, name: "f", arguments: "{}" })
    const result = (id: string) => ({ role: "tool" as const, toolCallId: id, content: "r" })
    const earlier = {
      role: "assistant" as const,
      content: [signed, { type: "text" as const, text: "Done." }],
    }
    const loop = [
      user("q"),
      { role: "assistant" as const, content: [signed, call("a")] },
      result("a"),
      // Text beside the tool results (Claude Code's reminders) is still the loop's.
      user("note"),
      {
        role: "assistant" as const,
        content: [{ type: "redacted-reasoning" as const, data: "E" }, call("b")],
      },
      result("b"),
    ]
    const blocks = (
      thinking: Parameters<typeof toAnthropicMessagesRequest>[0]["thinking"],
      messages = loop,
    ) =>
      (
        toAnthropicMessagesRequest({
          model: "m",
          messages: [user("before"), earlier, ...messages],
          ...(thinking === undefined ? {} : { thinking }),
        }).messages as { role: string; content: { type: string }[] }[]
      ).map((message) => message.content.map((block) => block.type))
    const bare = [
      ["text"],
      ["thinking", "text"],
      ["text"],
      ["tool_use"],
      ["tool_result", "text"],
      ["tool_use"],
      ["tool_result"],
    ]
    const request = (thinking: Parameters<typeof blocks>[0]) =>
      toAnthropicMessagesRequest({
        model: "m",
        messages: [user("before"), earlier, ...loop],
        ...(thinking === undefined ? {} : { thinking }),
      })
    // Claude: "When thinking is disabled, an `assistant` message in the final position cannot contain `thinking`".
    expect(blocks({ type: "disabled" })).toEqual(bare)
    expect(request({ type: "disabled" }).thinking).toEqual({ type: "disabled" })
    expect(blocks({ type: "adaptive" })[3]).toEqual(["thinking", "tool_use"])
    expect(blocks({ type: "adaptive" })[5]).toEqual(["redacted_thinking", "tool_use"])
    // Left out, thinking is the model's call (the newest think by default): the turns go as they came.
    expect(blocks(undefined)[3]).toEqual(["thinking", "tool_use"])
    expect(request(undefined)).not.toHaveProperty("thinking")
    // A loop that does not open with thinking makes Herald drop thinking: its thinking goes too.
    const unthought = [
      user("q"),
      { role: "assistant" as const, content: [call("a"), signed, call("b")] },
      result("a"),
    ]
    expect(blocks({ type: "adaptive" }, unthought)[3]).toEqual(["tool_use", "tool_use"])
    // Claude thinks at a loop's start only (without interleaving): the later steps' turns have
    // none, and the loop keeps its thinking.
    const steps = [
      user("q"),
      { role: "assistant" as const, content: [signed, call("a")] },
      result("a"),
      { role: "assistant" as const, content: [call("b")] },
      result("b"),
    ]
    const stepped = toAnthropicMessagesRequest({
      model: "m",
      messages: steps,
      thinking: { type: "adaptive" },
    })
    expect(stepped.thinking).toEqual({ type: "adaptive" })
    expect(
      (stepped.messages as { content: { type: string }[] }[])[1]?.content.map((block) => block.type),
    ).toEqual(["thinking", "tool_use"])
  })

  it("sends Claude only the reasoning it signed, and another server the reasoning's text", () => {
    const request = {
      model: "m",
      thinking: { type: "adaptive" as const },
      messages: [
        { role: "user" as const, content: [{ type: "text" as const, text: "hi" }] },
        {
          role: "assistant" as const,
          content: [
            { type: "reasoning" as const, text: "From another server." },
            { type: "reasoning" as const, text: "Signed.", signature: "SIG" },
            { type: "redacted-reasoning" as const, data: "enc" },
            { type: "tool-call" as const, id: "c1", name: "f", arguments: "{}" },
          ],
        },
      ],
    }
    expect((toAnthropicMessagesRequest(request).messages as { content: unknown }[])[1]?.content).toEqual([
      { type: "thinking", thinking: "Signed.", signature: "SIG" },
      { type: "redacted_thinking", data: "enc" },
      { type: "tool_use", id: "c1", name: "f", input: {} },
    ])
    const chat = toOpenAIChatRequest(request, { reasoningWithToolCalls: true })
    expect((chat.messages as Record<string, unknown>[])[1]).toMatchObject({
      reasoning_content: "From another server.\n\nSigned.",
      content: null,
    })
  })
})

/**
 * useChat's round trip on `origin`: the answer to a question, then the chat sent back once the
 * page ran the answer's weather call (its output on the tool part). Resolves with the answer.
 */
async function chatWithWeatherTool(origin: string, body: Record<string, unknown> = {}): Promise<UIMessage> {
  const user: UIMessage = { id: "u1", role: "user", parts: [{ type: "text", text: "Umbrella?" }] }
  const post = (messages: UIMessage[]) =>
    fetch(`${origin}/v1/ai-sdk/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "chat-weather", messages, trigger: "submit-message", ...body }),
    })
  const answer = await finalUIMessage(await post([user]))
  if (answer === undefined) throw new Error("no answer")
  const ran = {
    ...answer,
    parts: answer.parts.map((part) =>
      part.type === "tool-weather" ? { ...part, state: "output-available", output: "Rain" } : part,
    ),
  } as UIMessage
  const next = await post([user, ran])
  expect(next.status).toBe(200)
  await next.text()
  return answer
}

/** The assistant turn of {@link CLAUDE_THINKING_THEN_TOOL} as Claude wants it back. */
const CLAUDE_TURN_SENT_BACK = { role: "assistant", content: CLAUDE_BLOCKS_BACK }

describe("Claude's thinking in a useChat conversation", () => {
  it("reaches the UI message with its signature and encrypted part, and goes back to Claude with the tool turn", async () => {
    const origin = await heraldOver("anthropic", CLAUDE_THINKING_THEN_TOOL)
    const answer = await chatWithWeatherTool(origin, { reasoningEffort: "low" })
    expect(answer.parts.filter((part) => part.type === "reasoning")).toMatchObject([
      { text: "Look it up.", providerMetadata: { anthropic: { signature: "SIG_1" } } },
      { text: "", providerMetadata: { anthropic: { redactedData: "ENC" } } },
    ])
    expect(sent(0)).toMatchObject({ thinking: { type: "adaptive" }, output_config: { effort: "low" } })
    expect((sent(1).messages as unknown[])[1]).toEqual(CLAUDE_TURN_SENT_BACK)
  })

  it("a user message's reasoning part is for the UI only, as before", async () => {
    const origin = await heraldOver("anthropic", ANTHROPIC_OK)
    const response = await fetch(`${origin}/v1/ai-sdk/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        id: "chat-user-reasoning",
        messages: [
          {
            id: "u1",
            role: "user",
            parts: [
              { type: "reasoning", text: "x" },
              { type: "text", text: "hi" },
            ],
          },
        ],
      }),
    })
    expect(response.status).toBe(200)
    await response.text()
    expect(sent(0).messages).toEqual([{ role: "user", content: [{ type: "text", text: "hi" }] }])
  })

  it("a malformed signature sent back is a 400 naming it", async () => {
    const origin = await heraldOver("anthropic", ANTHROPIC_OK)
    const assistant = {
      id: "a1",
      role: "assistant",
      parts: [
        { type: "reasoning", text: "Hmm.", providerMetadata: { anthropic: { signature: 5 } } },
        { type: "text", text: "Ok." },
      ],
    }
    const response = await fetch(`${origin}/v1/ai-sdk/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        id: "chat-bad",
        messages: [{ id: "u1", role: "user", parts: [{ type: "text", text: "hi" }] }, assistant],
      }),
    })
    expect(response.status).toBe(400)
    expect(await response.text()).toContain("messages[1].parts[0].providerMetadata.anthropic.signature")
  })
})

describe("Claude's thinking with display omitted, a server tool between two blocks", () => {
  /** The thinking blocks among `content`. */
  const thinking = (content: readonly { type: string }[] | undefined) =>
    content?.filter((block) => block.type === "thinking")
  const WEATHER = { name: "weather", input_schema: { type: "object" as const } }

  it("keeps each block's signature apart for the Anthropic SDK, streamed and whole, and sends both back", async () => {
    const origin = await heraldOver("anthropic", CLAUDE_OMITTED_THINKING_THEN_TOOL)
    const client = anthropic(origin)
    const request = { model: "up", max_tokens: 50, messages: HI, tools: [WEATHER] }
    const streamed = await client.messages.stream(request).finalMessage()
    expect(thinking(streamed.content)).toEqual(CLAUDE_OMITTED_THINKING_BACK)
    const whole = await client.messages.create(request)
    expect(thinking(whole.content)).toEqual(CLAUDE_OMITTED_THINKING_BACK)
    await client.messages.create({
      ...request,
      messages: [
        ...HI,
        { role: "assistant", content: whole.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "Rain" }] },
      ],
    })
    expect(thinking((sent(2).messages as { content: { type: string }[] }[])[1]?.content)).toEqual(
      CLAUDE_OMITTED_THINKING_BACK,
    )
  })

  it("keeps each block's signature apart in an OpenAI client's thinking_blocks, streamed and whole", async () => {
    const origin = await heraldOver("anthropic", CLAUDE_OMITTED_THINKING_THEN_TOOL)
    const client = openai(origin)
    const streamed = await client.chat.completions.stream({ model: "up", messages: HI }).finalMessage()
    expect((streamed as unknown as Record<string, unknown>).thinking_blocks).toEqual(
      CLAUDE_OMITTED_THINKING_BACK,
    )
    const whole = await client.chat.completions.create({ model: "up", messages: HI })
    expect(whole.choices[0]?.message).toHaveProperty("thinking_blocks", CLAUDE_OMITTED_THINKING_BACK)
  })

  it("gives useChat a reasoning part per block, each with its signature, and sends both back", async () => {
    const origin = await heraldOver("anthropic", CLAUDE_OMITTED_THINKING_THEN_TOOL)
    const answer = await chatWithWeatherTool(origin)
    expect(answer.parts.filter((part) => part.type === "reasoning")).toMatchObject([
      { text: "", providerMetadata: { anthropic: { signature: "SIG_ONE" } } },
      { text: "", providerMetadata: { anthropic: { signature: "SIG_TWO" } } },
    ])
    expect(thinking((sent(1).messages as { content: { type: string }[] }[])[1]?.content)).toEqual(
      CLAUDE_OMITTED_THINKING_BACK,
    )
  })
})

describe("an Anthropic-compatible upstream", () => {
  it("that signs a thinking block in its start, with no signature_delta, has it kept and sent back", async () => {
    const origin = await heraldOver("anthropic", [
      CLAUDE_THINKING_THEN_TOOL[0] as string,
      anthropicEvent("content_block_start", {
        index: 0,
        content_block: { type: "thinking", thinking: "", signature: "msg-uuid" },
      }),
      anthropicEvent("content_block_delta", {
        index: 0,
        delta: { type: "thinking_delta", thinking: "Hmm." },
      }),
      anthropicEvent("content_block_stop", { index: 0 }),
      ...CLAUDE_THINKING_THEN_TOOL.slice(7),
    ])
    const client = anthropic(origin)
    const request = { model: "up", max_tokens: 50, messages: HI }
    const answer = await client.messages.stream(request).finalMessage()
    expect(answer.content.slice(0, 1)).toEqual([
      { type: "thinking", thinking: "Hmm.", signature: "msg-uuid" },
    ])
    await client.messages.create({
      ...request,
      max_tokens: 2048,
      thinking: { type: "enabled", budget_tokens: 1024 },
      messages: [
        ...HI,
        { role: "assistant", content: answer.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "Rain" }] },
      ],
    })
    expect((sent(1).messages as { content: unknown[] }[])[1]?.content[0]).toEqual({
      type: "thinking",
      thinking: "Hmm.",
      signature: "msg-uuid",
    })
  })
})

describe("Claude's thinking in an OpenAI client's conversation", () => {
  it("comes in the whole answer's thinking_blocks (LiteLLM's field), and goes back to Claude with the tool turn", async () => {
    const origin = await heraldOver("anthropic", CLAUDE_THINKING_THEN_TOOL)
    const client = openai(origin)
    const question = { role: "user" as const, content: "Umbrella?" }
    const first = await client.chat.completions.create({
      model: "up",
      messages: [question],
      reasoning_effort: "low",
    })
    const answer = first.choices[0]?.message
    if (answer === undefined) throw new Error("no answer")
    expect(answer).toMatchObject({
      reasoning_content: "Look it up.",
      thinking_blocks: [
        { type: "thinking", thinking: "Look it up.", signature: "SIG_1" },
        { type: "redacted_thinking", data: "ENC" },
      ],
    })
    await client.chat.completions.create({
      model: "up",
      messages: [question, answer, { role: "tool", tool_call_id: "toolu_1", content: "Rain" }],
      reasoning_effort: "low",
    })
    expect((sent(1).messages as unknown[])[1]).toEqual(CLAUDE_TURN_SENT_BACK)
  })

  it("comes whole in a streamed answer's finish chunk, which openai-node's stream helper keeps, and goes back to Claude", async () => {
    const origin = await heraldOver("anthropic", CLAUDE_THINKING_THEN_TOOL)
    const client = openai(origin)
    const question = { role: "user" as const, content: "Umbrella?" }
    const stream = client.chat.completions.stream({ model: "up", messages: [question] })
    const answer = await stream.finalMessage()
    expect((answer as unknown as Record<string, unknown>).thinking_blocks).toEqual([
      { type: "thinking", thinking: "Look it up.", signature: "SIG_1" },
      { type: "redacted_thinking", data: "ENC" },
    ])
    await client.chat.completions.create({
      model: "up",
      messages: [question, answer, { role: "tool", tool_call_id: "toolu_1", content: "Rain" }],
      reasoning_effort: "low",
    })
    expect((sent(1).messages as { content: unknown[] }[])[1]?.content.slice(0, 2)).toEqual([
      { type: "thinking", thinking: "Look it up.", signature: "SIG_1" },
      { type: "redacted_thinking", data: "ENC" },
    ])
  })

  it("in a stream, only signed blocks come, each in its place, and none without them", async () => {
    const signed = (index: number, text: string, signature: string) => [
      anthropicEvent("content_block_start", { index, content_block: { type: "thinking", thinking: "" } }),
      anthropicEvent("content_block_delta", { index, delta: { type: "thinking_delta", thinking: text } }),
      ...(signature === ""
        ? []
        : [anthropicEvent("content_block_delta", { index, delta: { type: "signature_delta", signature } })]),
      anthropicEvent("content_block_stop", { index }),
    ]
    const text = (index: number) => [
      anthropicEvent("content_block_start", { index, content_block: { type: "text", text: "" } }),
      anthropicEvent("content_block_delta", { index, delta: { type: "text_delta", text: "So." } }),
      anthropicEvent("content_block_stop", { index }),
    ]
    const origin = await heraldOver("anthropic", [
      ANTHROPIC_OK[0] as string,
      ...signed(0, "A", "SIG_A"),
      ...text(1),
      ...signed(2, "Unsigned.", ""),
      ...text(3),
      ...signed(4, "B", "SIG_B"),
      ...ANTHROPIC_OK.slice(1),
    ])
    const answer = await openai(origin).chat.completions.stream({ model: "up", messages: HI }).finalMessage()
    expect((answer as unknown as Record<string, unknown>).thinking_blocks).toEqual([
      { type: "thinking", thinking: "A", signature: "SIG_A" },
      { type: "thinking", thinking: "B", signature: "SIG_B" },
    ])
    await closeServers(servers)
    const plain = await heraldOver("anthropic", ANTHROPIC_OK)
    const none = await openai(plain).chat.completions.stream({ model: "up", messages: HI }).finalMessage()
    expect(none).not.toHaveProperty("thinking_blocks")
  })

  it("a thinking block of another type sent back is a 400 naming it", async () => {
    const origin = await heraldOver("anthropic", ANTHROPIC_OK)
    const refused = openai(origin).chat.completions.create({
      model: "up",
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: "Ok.", thinking_blocks: [{ type: "summary", text: "x" }] } as never,
      ],
    })
    await expect(refused).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining("messages[1].thinking_blocks[0].type"),
    })
  })
})

/** Claude behind OpenRouter: its thinking in text fragments, the signature a fragment of its own, then a call. */
const OPENROUTER_CLAUDE = [
  openaiChunk({
    role: "assistant",
    content: "",
    reasoning: "Look ",
    reasoning_details: [{ type: "reasoning.text", text: "Look ", format: "anthropic-claude-v1", index: 0 }],
  }),
  openaiChunk({
    reasoning: "it up.",
    reasoning_details: [{ type: "reasoning.text", text: "it up.", format: "anthropic-claude-v1", index: 0 }],
  }),
  openaiChunk({
    reasoning_details: [
      { type: "reasoning.text", signature: "SIG", format: "anthropic-claude-v1", index: 0 },
    ],
  }),
  openaiChunk({
    tool_calls: [
      {
        index: 0,
        id: "toolu_1",
        type: "function",
        function: { name: "weather", arguments: '{"city":"Oslo"}' },
      },
    ],
  }),
  openaiChunk({}, "tool_calls"),
  "data: [DONE]\n\n",
]

/** Gemini 3 behind OpenRouter: its thought signature as an encrypted item named after the call. */
const GEMINI_ITEM = {
  type: "reasoning.encrypted",
  data: "EjQK",
  format: "google-gemini-v1",
  id: "tool_weather_1",
  index: 0,
}
const OPENROUTER_GEMINI = [
  openaiChunk({ role: "assistant", content: "", reasoning: null, reasoning_details: [GEMINI_ITEM] }),
  openaiChunk({
    tool_calls: [
      { index: 0, id: "tool_weather_1", type: "function", function: { name: "weather", arguments: "{}" } },
    ],
  }),
  openaiChunk({}, "tool_calls"),
  "data: [DONE]\n\n",
]

const CLAUDE_DETAILS = [
  { type: "reasoning.text", text: "Look it up.", format: "anthropic-claude-v1", index: 0, signature: "SIG" },
]

describe("OpenRouter's reasoning details", () => {
  it("join a stream's fragments: text and summary pieces of one item, never items of another type", () => {
    const details: Record<string, unknown>[] = []
    for (const fragment of [
      { type: "reasoning.summary", summary: "Plan", format: "openai-responses-v1", index: 0 },
      { type: "reasoning.summary", summary: "ning.", format: "openai-responses-v1", index: 0 },
      { type: "reasoning.encrypted", data: "gAAA", id: "rs_1", format: "openai-responses-v1", index: 0 },
      { type: "reasoning.text", text: "A", index: 1 },
      { type: "reasoning.text", text: "B", index: 1, signature: null },
      { type: "reasoning.text", signature: "S", format: "anthropic-claude-v1", index: 1 },
      { type: "reasoning.text", text: "C", index: 2, signature: "" },
      // An empty signature is none: the real one fills it.
      { type: "reasoning.text", signature: "S2", index: 2 },
      // Text after a signed item is another item, even at the same index.
      { type: "reasoning.text", text: "D", index: 2 },
    ]) {
      addReasoningDetail(details, fragment)
    }
    expect(details).toEqual([
      { type: "reasoning.summary", summary: "Planning.", format: "openai-responses-v1", index: 0 },
      { type: "reasoning.encrypted", data: "gAAA", id: "rs_1", format: "openai-responses-v1", index: 0 },
      { type: "reasoning.text", text: "AB", index: 1, signature: "S", format: "anthropic-claude-v1" },
      { type: "reasoning.text", text: "C", index: 2, signature: "S2" },
      { type: "reasoning.text", text: "D", index: 2 },
    ])
  })

  it("that come after the finish are joined to the rest, with [DONE] and without", async () => {
    const late = [
      openaiChunk({
        reasoning: "Look.",
        reasoning_details: [
          { type: "reasoning.text", text: "Look.", format: "anthropic-claude-v1", index: 0 },
        ],
      }),
      openaiChunk({ content: "Rain." }),
      openaiChunk({}, "stop"),
      // A usage chunk that still carries a delta, with the item's signature.
      `data: ${JSON.stringify({
        choices: [
          {
            index: 0,
            delta: { reasoning_details: [{ type: "reasoning.text", signature: "SIG", index: 0 }] },
          },
        ],
        usage: { prompt_tokens: 1, completion_tokens: 2 },
      })}\n\n`,
    ]
    const whole = [
      { type: "reasoning.text", text: "Look.", format: "anthropic-claude-v1", index: 0, signature: "SIG" },
    ]
    for (const end of [["data: [DONE]\n\n"], []]) {
      const origin = await heraldOver("openai", [...late, ...end], { reasoningDetails: true })
      const client = openai(origin)
      const question = { role: "user" as const, content: "Umbrella?" }
      const streamed = await client.chat.completions
        .stream({ model: "up", messages: [question] })
        .finalMessage()
      expect(streamed).toMatchObject({ reasoning_details: whole })
      const answer = (await client.chat.completions.create({ model: "up", messages: [question] })).choices[0]
        ?.message
      expect(answer).toMatchObject({ reasoning_details: whole })
      await closeServers(servers)
    }
  })

  it("reach an OpenAI client whole, streamed and not, and go back to OpenRouter with the turn", async () => {
    const origin = await heraldOver("openai", OPENROUTER_CLAUDE, { reasoningDetails: true })
    const client = openai(origin)
    const question = { role: "user" as const, content: "Umbrella?" }
    const streamed = await client.chat.completions
      .stream({ model: "up", messages: [question] })
      .finalMessage()
    const whole = (await client.chat.completions.create({ model: "up", messages: [question] })).choices[0]
      ?.message
    for (const answer of [streamed, whole]) {
      expect(answer).toMatchObject({ reasoning_details: CLAUDE_DETAILS, reasoning_content: "Look it up." })
    }
    if (whole === undefined) throw new Error("no answer")
    await client.chat.completions.create({
      model: "up",
      messages: [question, whole, { role: "tool", tool_call_id: "toolu_1", content: "Rain" }],
    })
    expect((sent(2).messages as unknown[])[1]).toMatchObject({
      role: "assistant",
      reasoning_details: CLAUDE_DETAILS,
      tool_calls: [{ id: "toolu_1" }],
    })
  })

  it("of Gemini 3 go back from useChat's messages, as it came", async () => {
    const origin = await heraldOver("openai", OPENROUTER_GEMINI, { reasoningDetails: true })
    const answer = await chatWithWeatherTool(origin)
    expect(answer.parts.filter((part) => part.type === "reasoning")).toMatchObject([
      { text: "", providerMetadata: { openrouter: { reasoning_details: [GEMINI_ITEM] } } },
    ])
    expect((sent(1).messages as unknown[])[1]).toMatchObject({
      role: "assistant",
      reasoning_details: [GEMINI_ITEM],
      tool_calls: [{ id: "tool_weather_1" }],
    })
  })

  it("are sent only to a model set to take them: OpenRouter's by default", async () => {
    expect(serverDefaults("https://openrouter.ai/api/v1").reasoningDetails).toBe(true)
    expect(serverDefaults("https://api.openai.com/v1").reasoningDetails).toBe(false)
    const origin = await heraldOver("openai", OPENROUTER_GEMINI)
    const client = openai(origin)
    const question = { role: "user" as const, content: "Umbrella?" }
    const answer = (await client.chat.completions.create({ model: "up", messages: [question] })).choices[0]
      ?.message
    if (answer === undefined) throw new Error("no answer")
    expect(answer).toMatchObject({ reasoning_details: [GEMINI_ITEM] })
    await client.chat.completions.create({
      model: "up",
      messages: [question, answer, { role: "tool", tool_call_id: "tool_weather_1", content: "Rain" }],
    })
    expect((sent(1).messages as unknown[])[1]).not.toHaveProperty("reasoning_details")
  })

  it("that are not a list of objects are a 400 naming them", async () => {
    const origin = await heraldOver("openai", OPENAI_OK)
    const refused = openai(origin).chat.completions.create({
      model: "up",
      messages: [
        { role: "user", content: "hi" },
        { role: "assistant", content: "Ok.", reasoning_details: ["x"] } as never,
      ],
    })
    await expect(refused).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining("messages[1].reasoning_details[0]"),
    })
  })
})

describe("Claude's thinking through OpenRouter", () => {
  const question = { role: "user" as const, content: "Umbrella?" }

  it("reaches an Anthropic client signed, streamed and whole, and goes back to OpenRouter as Claude's items", async () => {
    const origin = await heraldOver("openai", OPENROUTER_CLAUDE, { reasoningDetails: true })
    const client = anthropic(origin)
    const request = { model: "up", max_tokens: 100, messages: [question] }
    const streamed = await client.messages.stream(request).finalMessage()
    const whole = await client.messages.create(request)
    for (const message of [streamed, whole]) {
      expect(message.content).toMatchObject([
        { type: "thinking", thinking: "Look it up.", signature: "SIG" },
        { type: "tool_use", id: "toolu_1", name: "weather" },
      ])
    }
    await client.messages.create({
      ...request,
      messages: [
        question,
        { role: "assistant", content: streamed.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "Rain" }] },
      ],
    })
    expect((sent(2).messages as unknown[])[1]).toMatchObject({
      role: "assistant",
      reasoning_details: CLAUDE_DETAILS,
      tool_calls: [{ id: "toolu_1" }],
    })
  })

  it("reaches an OpenAI client as thinking_blocks too, a repeated signature once, an encrypted item as a redacted block", async () => {
    const encrypted = { type: "reasoning.encrypted", data: "RED", format: "anthropic-claude-v1", index: 1 }
    const origin = await heraldOver(
      "openai",
      [
        ...OPENROUTER_CLAUDE.slice(0, 3),
        OPENROUTER_CLAUDE[2] as string,
        openaiChunk({ reasoning_details: [encrypted] }),
        ...OPENROUTER_CLAUDE.slice(3),
      ],
      { reasoningDetails: true },
    )
    const message = await openai(origin)
      .chat.completions.stream({ model: "up", messages: [question] })
      .finalMessage()
    expect(message).toMatchObject({
      thinking_blocks: [
        { type: "thinking", thinking: "Look it up.", signature: "SIG" },
        { type: "redacted_thinking", data: "RED" },
      ],
      reasoning_details: [...CLAUDE_DETAILS, encrypted],
    })
  })

  it("keeps a block's bounds: a signature after other output or a second in a row is left to the details, one in a chunk with the next block's text closes its own", async () => {
    const claude = (fragment: Record<string, unknown>) => ({ ...fragment, format: "anthropic-claude-v1" })
    const text = (piece: string, index: number) => claude({ type: "reasoning.text", text: piece, index })
    const signature = (value: string, index: number) =>
      claude({ type: "reasoning.text", signature: value, index })
    const call = openaiChunk({
      tool_calls: [
        { index: 0, id: "toolu_1", type: "function", function: { name: "weather", arguments: "{}" } },
      ],
    })
    const end = [openaiChunk({}, "tool_calls"), "data: [DONE]\n\n"]
    const cases = [
      {
        // The signature after the answer's text: no place among the blocks the client saw.
        chunks: [
          openaiChunk({ reasoning: "Look it up.", reasoning_details: [text("Look it up.", 0)] }),
          openaiChunk({ content: "Checking." }),
          openaiChunk({ reasoning_details: [signature("SIG", 0)] }),
          call,
          ...end,
        ],
        blocks: [],
        details: [{ ...text("Look it up.", 0), signature: "SIG" }],
      },
      {
        // A second block with no text (its thinking not shown): not merged into the first.
        chunks: [
          openaiChunk({ reasoning: "Look it up.", reasoning_details: [text("Look it up.", 0)] }),
          openaiChunk({ reasoning_details: [signature("S0", 0), signature("S1", 1)] }),
          call,
          ...end,
        ],
        blocks: [{ type: "thinking", thinking: "Look it up.", signature: "S0" }],
        details: [{ ...text("Look it up.", 0), signature: "S0" }, signature("S1", 1)],
      },
      {
        // One chunk closing block 0 and starting block 1: `delta.reasoning` alone would put B in block 0.
        chunks: [
          openaiChunk({ reasoning: "A", reasoning_details: [text("A", 0)] }),
          openaiChunk({ reasoning: "B", reasoning_details: [signature("S0", 0), text("B", 1)] }),
          openaiChunk({ reasoning_details: [signature("S1", 1)] }),
          call,
          ...end,
        ],
        blocks: [
          { type: "thinking", thinking: "A", signature: "S0" },
          { type: "thinking", thinking: "B", signature: "S1" },
        ],
        details: [
          { ...text("A", 0), signature: "S0" },
          { ...text("B", 1), signature: "S1" },
        ],
      },
    ]
    for (const { chunks, blocks, details } of cases) {
      const origin = await heraldOver("openai", chunks, { reasoningDetails: true })
      const message = (await openai(origin).chat.completions.create({ model: "up", messages: [question] }))
        .choices[0]?.message as unknown as Record<string, unknown>
      expect(message.thinking_blocks ?? []).toEqual(blocks)
      expect(message.reasoning_details).toEqual(details)
      const streamed = await anthropic(origin)
        .messages.stream({ model: "up", max_tokens: 100, messages: [question] })
        .finalMessage()
      // Signed blocks only: an unsigned one has no signature.
      expect(
        streamed.content.filter((block) => block.type === "thinking" && Boolean(block.signature)),
      ).toEqual(blocks)
      await closeServers(servers)
    }
  })

  it("an item sent again adds no text; an item without its text takes the turn's own block's to Claude", async () => {
    const item = { type: "reasoning.text", format: "anthropic-claude-v1", index: 0 }
    const origin = await heraldOver("openai", [
      openaiChunk({ reasoning: "A", reasoning_details: [{ ...item, text: "A" }] }),
      openaiChunk({ reasoning_details: [{ ...item, signature: "S" }] }),
      openaiChunk({ reasoning_details: [{ ...item, text: "A", signature: "S" }] }),
      openaiChunk({ content: "Ok." }),
      openaiChunk({}, "stop"),
      "data: [DONE]\n\n",
    ])
    const message = (await openai(origin).chat.completions.create({ model: "up", messages: [question] }))
      .choices[0]?.message as unknown as Record<string, unknown>
    expect(message.reasoning_content).toBe("A")
    const body = toAnthropicMessagesRequest({
      model: "claude",
      thinking: { type: "adaptive" },
      messages: [
        { role: "user", content: [{ type: "text", text: "Umbrella?" }] },
        {
          role: "assistant",
          content: [
            { type: "reasoning", text: "Look it up.", signature: "SIG" },
            { type: "reasoning-details", details: [{ ...item, signature: "SIG" }] },
            { type: "text", text: "Ok." },
          ],
        },
      ],
    })
    expect((body.messages as { content: unknown[] }[])[1]?.content).toEqual([
      { type: "thinking", thinking: "Look it up.", signature: "SIG" },
      { type: "text", text: "Ok." },
    ])
  })

  it("goes to Claude itself as thinking blocks, first in the turn and in place of its own, when the conversation moves to an Anthropic upstream", () => {
    const gemini = { ...GEMINI_ITEM, index: 1 }
    const turn = (ownThinking: boolean) =>
      toAnthropicMessagesRequest({
        model: "claude",
        thinking: { type: "enabled", budgetTokens: 2048 },
        messages: [
          { role: "user", content: [{ type: "text", text: "Umbrella?" }] },
          {
            role: "assistant",
            content: [
              ...(ownThinking ? [{ type: "reasoning" as const, text: "Mine.", signature: "OWN" }] : []),
              { type: "tool-call", id: "toolu_1", name: "weather", arguments: '{"city":"Oslo"}' },
              // Where the AI SDK's view leaves them: after the calls.
              { type: "reasoning-details", details: [...CLAUDE_DETAILS, gemini] },
            ],
          },
          { role: "tool", toolCallId: "toolu_1", content: "Rain" },
        ],
      })
    const moved = turn(false)
    expect((moved.messages as { content: unknown[] }[])[1]?.content).toEqual([
      { type: "thinking", thinking: "Look it up.", signature: "SIG" },
      { type: "tool_use", id: "toolu_1", name: "weather", input: { city: "Oslo" } },
    ])
    // The turn starts with thinking, so thinking stays on.
    expect(moved.thinking).toEqual({ type: "enabled", budget_tokens: 2048 })
    // The details win over the turn's own blocks: they are Claude's as OpenRouter joined them,
    // the blocks the same thinking as a view rendered it.
    expect((turn(true).messages as { content: unknown[] }[])[1]?.content).toEqual(
      (moved.messages as { content: unknown[] }[])[1]?.content,
    )
  })

  it("given by an Anthropic client goes to OpenRouter as Claude's items, to a model set to take details only", () => {
    const request = (details: Record<string, unknown>[]) => ({
      model: "up",
      messages: [
        { role: "user" as const, content: [{ type: "text" as const, text: "Umbrella?" }] },
        {
          role: "assistant" as const,
          content: [
            { type: "reasoning" as const, text: "Look it up.", signature: "SIG" },
            { type: "redacted-reasoning" as const, data: "RED" },
            { type: "reasoning" as const, text: "unsigned" },
            ...(details.length > 0 ? [{ type: "reasoning-details" as const, details }] : []),
            { type: "tool-call" as const, id: "toolu_1", name: "weather", arguments: "{}" },
          ],
        },
      ],
    })
    const assistantOf = (body: Record<string, unknown>) => (body.messages as Record<string, unknown>[])[1]
    expect(
      assistantOf(toOpenAIChatRequest(request([]), { reasoningDetails: true }))?.reasoning_details,
    ).toEqual([
      {
        type: "reasoning.text",
        text: "Look it up.",
        signature: "SIG",
        format: "anthropic-claude-v1",
        index: 0,
      },
      { type: "reasoning.encrypted", data: "RED", format: "anthropic-claude-v1", index: 1 },
    ])
    expect(assistantOf(toOpenAIChatRequest(request([]), {}))).not.toHaveProperty("reasoning_details")
    // The turn's own details win: they are what OpenRouter gave.
    expect(
      assistantOf(toOpenAIChatRequest(request([GEMINI_ITEM]), { reasoningDetails: true }))?.reasoning_details,
    ).toEqual([GEMINI_ITEM])
  })
})

describe("Gemini 3's encrypted item through OpenRouter", () => {
  const question = { role: "user" as const, content: "Umbrella?" }

  it("is its call's thought signature: in the tool_use id an Anthropic client sends back, which goes to OpenRouter as the item", async () => {
    const origin = await heraldOver("openai", OPENROUTER_GEMINI, { reasoningDetails: true })
    const client = anthropic(origin)
    const request = { model: "up", max_tokens: 100, messages: [question] }
    const streamed = await client.messages.stream(request).finalMessage()
    expect(streamed.content).toMatchObject([
      { type: "tool_use", id: "tool_weather_1__thought_signature__EjQK", name: "weather" },
    ])
    const call = streamed.content[0]
    if (call?.type !== "tool_use") throw new Error("no tool call")
    await client.messages.create({
      ...request,
      messages: [
        question,
        { role: "assistant", content: streamed.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "Rain" }] },
      ],
    })
    const turn = sent(1).messages as Record<string, unknown>[]
    expect(turn[1]).toMatchObject({ role: "assistant", tool_calls: [{ id: "tool_weather_1" }] })
    expect(turn[1]?.reasoning_details).toEqual([GEMINI_ITEM])
    expect(turn[2]).toMatchObject({ role: "tool", tool_call_id: "tool_weather_1" })
  })

  it("reaches an OpenAI client on the call as well, for Google's own endpoint, also when the item comes after the call", async () => {
    const late = [
      OPENROUTER_GEMINI[1],
      openaiChunk({ reasoning_details: [GEMINI_ITEM] }),
      ...OPENROUTER_GEMINI.slice(2),
    ]
    for (const chunks of [OPENROUTER_GEMINI, late]) {
      const origin = await heraldOver("openai", chunks as string[], { reasoningDetails: true })
      const answer = (await openai(origin).chat.completions.create({ model: "up", messages: [question] }))
        .choices[0]?.message
      expect(answer).toMatchObject({
        reasoning_details: [GEMINI_ITEM],
        tool_calls: [
          {
            id: "tool_weather_1__thought_signature__EjQK",
            extra_content: { google: { thought_signature: "EjQK" } },
          },
        ],
      })
      await closeServers(servers)
    }
  })
})
