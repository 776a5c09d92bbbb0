import { describe, expect, it } from "vitest"
import { fromAISdkChatRequest } from "../../src/ai/from-ai-sdk-request.js"
import { fromAnthropicMessagesRequest } from "../../src/ai/from-anthropic-request.js"
import { fromOpenAIChatRequest } from "../../src/ai/from-openai-request.js"
import { DEFAULT_MAX_BODY_KEYS, DEFAULT_MAX_BODY_VALUES } from "../../src/ai/json-body.js"
import type { AssistantMessage, NormalizedRequest } from "../../src/ai/request.js"
import { RequestFieldError } from "../../src/ai/request-field-error.js"
import { toAnthropicMessagesRequest } from "../../src/ai/to-anthropic-request.js"
import { toOpenAIChatRequest } from "../../src/ai/to-openai-request.js"

const PNG = "data:image/png;base64,iVBORw0KGgo="
const WEATHER_SCHEMA = { type: "object", properties: { city: { type: "string" } }, required: ["city"] }

// One conversation in each format: system, an image, a tool call and its result, then a question.
const OPENAI_BODY = {
  model: "m",
  messages: [
    { role: "system", content: "Be brief." },
    {
      role: "user",
      content: [
        { type: "text", text: "Weather where this was taken?" },
        { type: "image_url", image_url: { url: PNG } },
      ],
    },
    {
      role: "assistant",
      content: null,
      tool_calls: [
        { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } },
      ],
    },
    { role: "tool", tool_call_id: "call_1", content: "Rain, 8 °C" },
    { role: "user", content: "Umbrella?" },
  ],
  tools: [
    {
      type: "function",
      function: { name: "weather", description: "Current weather", parameters: WEATHER_SCHEMA },
    },
  ],
  tool_choice: { type: "function", function: { name: "weather" } },
  stop: ["END"],
  max_tokens: 100,
  temperature: 0.5,
  top_p: 0.9,
}

const ANTHROPIC_BODY = {
  model: "m",
  messages: [
    {
      role: "user",
      content: [
        { type: "text", text: "Weather where this was taken?" },
        { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
      ],
    },
    {
      role: "assistant",
      content: [{ type: "tool_use", id: "call_1", name: "weather", input: { city: "Oslo" } }],
    },
    {
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "call_1", content: "Rain, 8 °C" },
        { type: "text", text: "Umbrella?" },
      ],
    },
  ],
  max_tokens: 100,
  system: "Be brief.",
  tools: [{ name: "weather", description: "Current weather", input_schema: WEATHER_SCHEMA }],
  tool_choice: { type: "tool", name: "weather" },
  stop_sequences: ["END"],
  temperature: 0.5,
  top_p: 0.9,
}

const NORMALIZED: NormalizedRequest = {
  model: "m",
  system: "Be brief.",
  messages: [
    {
      role: "user",
      content: [
        { type: "text", text: "Weather where this was taken?" },
        { type: "image", url: PNG },
      ],
    },
    {
      role: "assistant",
      content: [{ type: "tool-call", id: "call_1", name: "weather", arguments: '{"city":"Oslo"}' }],
    },
    { role: "tool", toolCallId: "call_1", content: "Rain, 8 °C" },
    { role: "user", content: [{ type: "text", text: "Umbrella?" }] },
  ],
  tools: [{ name: "weather", description: "Current weather", parameters: WEATHER_SCHEMA }],
  toolChoice: { name: "weather" },
  stop: ["END"],
  maxTokens: 100,
  temperature: 0.5,
  topP: 0.9,
}

function fieldOf(translate: () => unknown): string | undefined {
  try {
    translate()
  } catch (error) {
    if (error instanceof RequestFieldError) return error.field
    throw error
  }
  return undefined
}

describe("request translation", () => {
  it("reads an OpenAI body and an Anthropic body of the same conversation as the same request", () => {
    expect(fromOpenAIChatRequest(OPENAI_BODY)).toEqual(NORMALIZED)
    expect(fromAnthropicMessagesRequest(ANTHROPIC_BODY)).toEqual(NORMALIZED)
  })

  it("writes the request back as either body; to Anthropic, top_p only without a temperature", () => {
    expect(toOpenAIChatRequest(NORMALIZED)).toEqual(OPENAI_BODY)
    // Claude's recent models refuse temperature and top_p together.
    const { top_p: _topP, ...anthropicWritten } = ANTHROPIC_BODY
    expect(toAnthropicMessagesRequest(NORMALIZED)).toEqual(anthropicWritten)
    const { temperature: _temperature, ...withoutTemperature } = NORMALIZED
    expect(toAnthropicMessagesRequest(withoutTemperature).top_p).toBe(0.9)
  })

  it("translates an OpenAI request to Anthropic and back (top_p left out beside a temperature)", () => {
    const anthropic = toAnthropicMessagesRequest(fromOpenAIChatRequest(OPENAI_BODY))
    const { top_p: _topP, ...expected } = OPENAI_BODY
    expect(toOpenAIChatRequest(fromAnthropicMessagesRequest(anthropic))).toEqual(expected)
  })

  it("maps tool choices and response formats", () => {
    const base = { model: "m", messages: [] }
    expect(fromOpenAIChatRequest({ ...base, tool_choice: "required" }).toolChoice).toBe("required")
    expect(toAnthropicMessagesRequest({ ...base, toolChoice: "required" }).tool_choice).toEqual({
      type: "any",
    })
    expect(fromAnthropicMessagesRequest({ ...base, tool_choice: { type: "any" } }).toolChoice).toBe(
      "required",
    )
    expect(toAnthropicMessagesRequest({ ...base, toolChoice: "none" }).tool_choice).toEqual({ type: "none" })
    // One tool call at a time: OpenAI's parallel_tool_calls, Anthropic's disable_parallel_tool_use.
    const tools = [{ name: "weather", parameters: WEATHER_SCHEMA }]
    const oneCall = fromOpenAIChatRequest({ ...base, tools: [], parallel_tool_calls: false })
    expect(oneCall.parallelToolCalls).toBe(false)
    expect(toAnthropicMessagesRequest({ ...oneCall, tools }).tool_choice).toEqual({
      type: "auto",
      disable_parallel_tool_use: true,
    })
    expect(
      toAnthropicMessagesRequest({ ...oneCall, tools, toolChoice: { name: "weather" } }).tool_choice,
    ).toEqual({ type: "tool", name: "weather", disable_parallel_tool_use: true })
    expect(toAnthropicMessagesRequest({ ...oneCall, tools, toolChoice: "none" }).tool_choice).toEqual({
      type: "none",
    })
    // Without tools neither format takes it.
    expect(toAnthropicMessagesRequest({ ...base, parallelToolCalls: false })).not.toHaveProperty(
      "tool_choice",
    )
    expect(toOpenAIChatRequest({ ...base, parallelToolCalls: false })).not.toHaveProperty(
      "parallel_tool_calls",
    )
    expect(toOpenAIChatRequest({ ...base, tools: [], parallelToolCalls: false })).not.toHaveProperty(
      "parallel_tool_calls",
    )
    expect(toAnthropicMessagesRequest({ ...base, tools: [], parallelToolCalls: false })).not.toHaveProperty(
      "tool_choice",
    )
    const anthropicOneCall = fromAnthropicMessagesRequest({
      ...base,
      tool_choice: { type: "any", disable_parallel_tool_use: true },
    })
    expect(anthropicOneCall).toMatchObject({ toolChoice: "required", parallelToolCalls: false })
    expect(toOpenAIChatRequest({ ...anthropicOneCall, tools })).toMatchObject({
      tool_choice: "required",
      parallel_tool_calls: false,
    })
    const parallel = fromAnthropicMessagesRequest({
      ...base,
      tool_choice: { type: "auto", disable_parallel_tool_use: false },
    })
    expect(parallel.parallelToolCalls).toBe(true)
    // OpenAI's default: not sent (its o-series models refuse the field whatever its value).
    expect(toOpenAIChatRequest({ ...parallel, tools })).not.toHaveProperty("parallel_tool_calls")
    const format = {
      type: "json_schema",
      json_schema: { name: "answer", schema: WEATHER_SCHEMA, strict: true },
    }
    const request = fromOpenAIChatRequest({
      ...base,
      response_format: format,
      max_completion_tokens: 7,
      stop: "x",
    })
    expect(request).toMatchObject({
      responseFormat: { type: "json_schema", name: "answer", schema: WEATHER_SCHEMA, strict: true },
      maxTokens: 7,
      stop: ["x"],
    })
    expect(toOpenAIChatRequest(request).response_format).toEqual(format)
  })

  it("keeps a JSON schema response format's description", () => {
    const format = {
      type: "json_schema",
      json_schema: { name: "answer", description: "The city's weather", schema: WEATHER_SCHEMA },
    }
    const request = fromOpenAIChatRequest({ model: "m", messages: [], response_format: format })
    expect(toOpenAIChatRequest(request).response_format).toEqual(format)
  })

  it("names the field that cannot be translated or is invalid", () => {
    const base = { model: "m", messages: [{ role: "user", content: "Hi" }] }
    expect(fieldOf(() => fromOpenAIChatRequest({ ...base, logprobs: true }))).toBe("logprobs")
    expect(fieldOf(() => fromOpenAIChatRequest({ ...base, n: 2 }))).toBe("n")
    expect(
      fieldOf(() => fromOpenAIChatRequest({ ...base, messages: [{ role: "function", content: "" }] })),
    ).toBe("messages[0].role")
    expect(
      fieldOf(() =>
        fromOpenAIChatRequest({
          ...base,
          messages: [{ role: "user", content: [{ type: "input_audio", input_audio: {} }] }],
        }),
      ),
    ).toBe("messages[0].content[0].type")
    expect(fieldOf(() => fromOpenAIChatRequest({ ...base, model: 3 }))).toBe("model")
    for (const bad of [-1, 0, 1.5]) {
      expect(fieldOf(() => fromOpenAIChatRequest({ ...base, max_tokens: bad }))).toBe("max_tokens")
      expect(fieldOf(() => fromOpenAIChatRequest({ ...base, max_completion_tokens: bad }))).toBe(
        "max_completion_tokens",
      )
      expect(fieldOf(() => fromAnthropicMessagesRequest({ ...base, max_tokens: bad }))).toBe("max_tokens")
    }
    expect(fromOpenAIChatRequest({ ...base, max_tokens: 1 }).maxTokens).toBe(1)
    // Sampling settings one format has: sent where they exist, refused by name where they do not.
    const sampling = fromOpenAIChatRequest({
      ...base,
      frequency_penalty: 0.5,
      presence_penalty: -0.5,
      seed: 7,
      logit_bias: { "50256": -100 },
    })
    expect(toOpenAIChatRequest(sampling)).toMatchObject({
      frequency_penalty: 0.5,
      presence_penalty: -0.5,
      seed: 7,
      logit_bias: { "50256": -100 },
    })
    expect(fieldOf(() => toAnthropicMessagesRequest(sampling))).toBe("frequency_penalty")
    expect(fieldOf(() => toAnthropicMessagesRequest({ ...sampling, frequencyPenalty: undefined }))).toBe(
      "presence_penalty",
    )
    expect(fieldOf(() => toAnthropicMessagesRequest({ model: "m", messages: [], seed: 1 }))).toBe("seed")
    // The defaults, sent explicitly by many clients, say nothing: they pass to either upstream.
    const defaults = fromOpenAIChatRequest({
      ...base,
      frequency_penalty: 0,
      presence_penalty: 0,
      logit_bias: {},
    })
    expect(toAnthropicMessagesRequest(defaults)).not.toHaveProperty("frequency_penalty")
    expect(fieldOf(() => fromOpenAIChatRequest({ ...base, seed: 1.5 }))).toBe("seed")
    expect(fieldOf(() => fromOpenAIChatRequest({ ...base, logit_bias: { "1": "x" } }))).toBe("logit_bias.1")
    // What tunes OpenAI's service goes on to Chat Completions and is left out for Messages;
    // GPT-5's verbosity changes the answer, and Messages has none.
    const service = {
      service_tier: "flex",
      prompt_cache_key: "chat-42",
      safety_identifier: "user-hash",
      store: true,
      metadata: { app: "herald" },
    }
    const tuned = fromOpenAIChatRequest({ ...base, ...service, verbosity: "low" })
    expect(toOpenAIChatRequest(tuned)).toMatchObject({ ...service, verbosity: "low" })
    expect(fieldOf(() => toAnthropicMessagesRequest(tuned))).toBe("verbosity")
    const untuned = toAnthropicMessagesRequest({ ...tuned, verbosity: undefined })
    for (const field of Object.keys(service)) expect(untuned).not.toHaveProperty(field)
    expect(fieldOf(() => fromOpenAIChatRequest({ ...base, store: "yes" }))).toBe("store")
    expect(fieldOf(() => fromOpenAIChatRequest({ ...base, metadata: { app: 1 } }))).toBe("metadata.app")
    expect(fieldOf(() => fromOpenAIChatRequest({ ...base, service_tier: 2 }))).toBe("service_tier")
    const topK = fromAnthropicMessagesRequest({ ...base, top_k: 5 })
    expect(toAnthropicMessagesRequest(topK).top_k).toBe(5)
    expect(fieldOf(() => toOpenAIChatRequest(topK))).toBe("top_k")
    expect(toOpenAIChatRequest(topK, { topK: true }).top_k).toBe(5)
    // An OpenAI client's top_k, as vLLM reads it: -1 and 0 are its default, every token.
    expect(fromOpenAIChatRequest({ ...base, top_k: 40 }).topK).toBe(40)
    expect(fromOpenAIChatRequest({ ...base, top_k: -1 })).not.toHaveProperty("topK")
    expect(fromOpenAIChatRequest({ ...base, top_k: 0 })).not.toHaveProperty("topK")
    expect(fieldOf(() => fromOpenAIChatRequest({ ...base, top_k: 2.5 }))).toBe("top_k")
    expect(fieldOf(() => fromOpenAIChatRequest({ ...base, top_k: -2 }))).toBe("top_k")
    expect(fieldOf(() => fromAnthropicMessagesRequest({ ...base, top_k: 0 }))).toBe("top_k")
    const thinking = (value: unknown) =>
      fieldOf(() => fromAnthropicMessagesRequest({ ...base, thinking: value }))
    expect(thinking({ type: "enabled" })).toBe("thinking.budget_tokens")
    expect(thinking({ type: "enabled", budget_tokens: 0 })).toBe("thinking.budget_tokens")
    expect(thinking({ type: "on" })).toBe("thinking.type")
    expect(thinking({ type: "adaptive", budget_tokens: 2000 })).toBe("thinking.budget_tokens")
    expect(thinking("enabled")).toBe("thinking")
    expect(
      fieldOf(() => fromAnthropicMessagesRequest({ ...base, output_config: { format: { type: "json" } } })),
    ).toBe("output_config.format")
    expect(fieldOf(() => fromAnthropicMessagesRequest({ ...base, output_config: { effort: "HIGH" } }))).toBe(
      "output_config.effort",
    )
    expect(fieldOf(() => fromOpenAIChatRequest({ ...base, parallel_tool_calls: "no" }))).toBe(
      "parallel_tool_calls",
    )
    expect(
      fieldOf(() =>
        fromAnthropicMessagesRequest({
          ...base,
          tool_choice: { type: "auto", disable_parallel_tool_use: 1 },
        }),
      ),
    ).toBe("tool_choice.disable_parallel_tool_use")
    expect(fieldOf(() => fromOpenAIChatRequest({ ...base, reasoning_effort: 3 }))).toBe("reasoning_effort")
    expect(fieldOf(() => fromOpenAIChatRequest({ ...base, reasoning_effort: "high effort" }))).toBe(
      "reasoning_effort",
    )
    expect(
      fieldOf(() =>
        fromAnthropicMessagesRequest({ ...base, tools: [{ type: "web_search_20250305", name: "web" }] }),
      ),
    ).toBe("tools[0].type")
    expect(
      fieldOf(() =>
        fromAnthropicMessagesRequest({
          ...base,
          messages: [{ role: "user", content: [{ type: "document", source: {} }] }],
        }),
      ),
    ).toBe("messages[0].content[0].type")
    const json = { model: "m", messages: [], responseFormat: { type: "json_object" as const } }
    expect(fieldOf(() => toAnthropicMessagesRequest(json))).toBe("response_format")
    const badImage: NormalizedRequest = {
      model: "m",
      messages: [{ role: "user", content: [{ type: "image", url: "ftp://x/y.png" }] }],
    }
    expect(fieldOf(() => toAnthropicMessagesRequest(badImage))).toBe("messages[0].content[0].image_url.url")
    const badArguments: NormalizedRequest = {
      model: "m",
      messages: [
        {
          role: "assistant",
          content: [
            { type: "tool-call", id: "a", name: "t", arguments: "{}" },
            { type: "tool-call", id: "b", name: "t", arguments: "[1]" },
          ],
        },
      ],
    }
    expect(fieldOf(() => toAnthropicMessagesRequest(badArguments))).toBe(
      "messages[0].tool_calls[1].function.arguments",
    )
  })

  it("names a field the upstream's format cannot take as the client wrote it: its indices, its field names", () => {
    const svg = "data:image/svg+xml;utf8,<svg/>"
    // System and developer messages leave the normalized list; the client's index is named.
    const openai = fromOpenAIChatRequest({
      model: "m",
      messages: [
        { role: "system", content: "S" },
        { role: "developer", content: "D" },
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url: { url: svg } },
          ],
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "a", type: "function", function: { name: "t", arguments: "[1]" } }],
        },
      ],
    })
    expect(fieldOf(() => toAnthropicMessagesRequest(openai))).toBe("messages[2].content[1].image_url.url")
    const { messages } = openai
    expect(fieldOf(() => toAnthropicMessagesRequest({ ...openai, messages: messages.slice(1) }))).toBe(
      "messages[3].tool_calls[0].function.arguments",
    )
    // An Anthropic turn's tool results become messages of their own; its blocks keep their names.
    const anthropic = fromAnthropicMessagesRequest({
      model: "m",
      messages: [
        { role: "user", content: "Read it" },
        { role: "assistant", content: [{ type: "tool_use", id: "a", name: "read", input: {} }] },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "a", content: "done" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
            { type: "image", source: { type: "url", url: "file:///etc/passwd" } },
          ],
        },
      ],
    })
    expect(fieldOf(() => toAnthropicMessagesRequest(anthropic))).toBe("messages[2].content[2].source.url")
    // An AI SDK system message leaves the list too; a step's call is named by its own part.
    const aiSdk = (call: Record<string, unknown>) =>
      fromAISdkChatRequest(
        {
          id: "c",
          messages: [
            { id: "s", role: "system", parts: [{ type: "text", text: "S" }] },
            {
              id: "u",
              role: "user",
              parts: [
                { type: "text", text: "What is this?" },
                { type: "file", mediaType: "image/svg+xml", url: svg },
              ],
            },
            { id: "a", role: "assistant", parts: [{ type: "step-start" }, call] },
          ],
        },
        "m",
      ).request
    const call = { type: "tool-t", toolCallId: "a", state: "output-available", input: [1], output: "" }
    expect(fieldOf(() => toAnthropicMessagesRequest(aiSdk(call)))).toBe("messages[1].parts[1].url")
    const withoutImage = aiSdk(call)
    withoutImage.messages.shift()
    expect(fieldOf(() => toAnthropicMessagesRequest(withoutImage))).toBe("messages[2].parts[1].input")
  })

  it("keeps texts given apart apart: blocks where Messages takes blocks, paragraphs where one text", () => {
    const system = [
      { type: "text", text: "You are Claude Code." },
      { type: "text", text: "Always answer in French." },
    ]
    const results = [
      { type: "text", text: "line 1" },
      { type: "text", text: "line 2" },
    ]
    const anthropic = fromAnthropicMessagesRequest({
      model: "m",
      system,
      messages: [
        { role: "user", content: "List" },
        {
          role: "assistant",
          content: [
            { type: "text", text: "Reading." },
            { type: "tool_use", id: "a", name: "ls", input: {} },
            { type: "text", text: "Done." },
          ],
        },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "a", content: results }] },
      ],
    })
    expect(anthropic.system).toBe("You are Claude Code.\n\nAlways answer in French.")
    const toClaude = toAnthropicMessagesRequest(anthropic)
    expect(toClaude.system).toEqual(system)
    expect(toClaude.messages).toContainEqual({
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "a", content: results }],
    })
    const toOpenAI = toOpenAIChatRequest(anthropic)
    expect(toOpenAI.messages).toEqual([
      { role: "system", content: "You are Claude Code.\n\nAlways answer in French." },
      { role: "user", content: "List" },
      {
        role: "assistant",
        content: "Reading.\n\nDone.",
        tool_calls: [{ id: "a", type: "function", function: { name: "ls", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "a", content: "line 1\n\nline 2" },
    ])
    // An OpenAI client's system messages and text parts are blocks too, and paragraphs again for OpenAI.
    const openai = fromOpenAIChatRequest({
      model: "m",
      messages: [
        { role: "system", content: system },
        { role: "developer", content: "Be brief." },
        { role: "user", content: "List" },
        { role: "assistant", content: results },
      ],
    })
    expect(toAnthropicMessagesRequest(openai).system).toEqual([
      ...system,
      { type: "text", text: "Be brief." },
    ])
    expect(toOpenAIChatRequest(openai).messages).toEqual([
      { role: "system", content: "You are Claude Code.\n\nAlways answer in French.\n\nBe brief." },
      { role: "user", content: "List" },
      { role: "assistant", content: "line 1\n\nline 2" },
    ])
  })

  it("writes no body Messages refuses: a tool without parameters, empty texts and turns", () => {
    const noArguments = { type: "object", properties: {} }
    const request = fromOpenAIChatRequest({
      model: "m",
      messages: [
        {
          role: "system",
          content: [
            { type: "text", text: "" },
            { type: "text", text: "S" },
          ],
        },
        { role: "user", content: "" },
        { role: "assistant", content: "" },
        {
          role: "user",
          content: [
            { type: "text", text: "" },
            { type: "text", text: "Hi" },
          ],
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "a", type: "function", function: { name: "now", arguments: "" } }],
        },
        {
          role: "tool",
          tool_call_id: "a",
          content: [
            { type: "text", text: "" },
            { type: "text", text: "noon" },
          ],
        },
      ],
      tools: [
        { type: "function", function: { name: "now" } },
        { type: "function", function: { name: "today", parameters: {} } },
        { type: "function", function: { name: "later", parameters: null } },
      ],
    })
    const toClaude = toAnthropicMessagesRequest(request)
    expect(toClaude).toMatchObject({
      system: "S",
      messages: [
        { role: "user", content: [{ type: "text", text: "Hi" }] },
        { role: "assistant", content: [{ type: "tool_use", id: "a", name: "now", input: {} }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "a", content: "noon" }] },
      ],
      tools: [
        { name: "now", input_schema: noArguments },
        { name: "today", input_schema: noArguments },
        { name: "later", input_schema: noArguments },
      ],
    })
    // Chat Completions takes empty turns; a tool without parameters gets the same schema, not {}.
    const toOpenAI = toOpenAIChatRequest(request)
    expect((toOpenAI.messages as unknown[]).slice(1, 3)).toEqual([
      { role: "user", content: "" },
      { role: "assistant", content: "" },
    ])
    expect((toOpenAI.tools as { function: unknown }[]).map((tool) => tool.function)).toEqual([
      { name: "now", parameters: noArguments },
      { name: "today", parameters: noArguments },
      { name: "later", parameters: noArguments },
    ])
  })

  it("refuses an empty last turn for Messages, by the client's field, instead of leaving it out", () => {
    // Left out, "Autumn" would be the last turn: Claude would continue it instead of answering.
    const haiku = [
      { role: "user", content: "Write a haiku" },
      { role: "assistant", content: "Autumn" },
    ]
    const openai = (last: unknown) =>
      fromOpenAIChatRequest({ model: "m", messages: [{ role: "system", content: "S" }, ...haiku, last] })
    expect(fieldOf(() => toAnthropicMessagesRequest(openai({ role: "user", content: "" })))).toBe(
      "messages[3].content",
    )
    expect(
      fieldOf(() =>
        toAnthropicMessagesRequest(openai({ role: "user", content: [{ type: "text", text: "" }] })),
      ),
    ).toBe("messages[3].content")
    const anthropic = fromAnthropicMessagesRequest({
      model: "m",
      messages: [...haiku, { role: "user", content: [{ type: "text", text: "" }] }],
    })
    expect(fieldOf(() => toAnthropicMessagesRequest(anthropic))).toBe("messages[2].content")
    const { request: aiSdk } = fromAISdkChatRequest(
      {
        id: "c",
        messages: [
          { id: "s", role: "system", parts: [{ type: "text", text: "S" }] },
          { id: "u", role: "user", parts: [{ type: "text", text: "Write a haiku" }] },
          { id: "a", role: "assistant", parts: [{ type: "text", text: "Autumn" }] },
          { id: "e", role: "user", parts: [{ type: "text", text: "" }] },
        ],
      },
      "m",
    )
    expect(fieldOf(() => toAnthropicMessagesRequest(aiSdk))).toBe("messages[3].parts")
    // An empty last assistant turn too; a request built without a client's body is named at its index.
    expect(
      fieldOf(() =>
        toAnthropicMessagesRequest({
          model: "m",
          messages: [
            { role: "user", content: [{ type: "text", text: "Hi" }] },
            { role: "assistant", content: [{ type: "text", text: "" }] },
          ],
        }),
      ),
    ).toBe("messages[1].content")
    // Chat Completions takes the empty turn as it came.
    expect((toOpenAIChatRequest(openai({ role: "user", content: "" })).messages as unknown[]).at(-1)).toEqual(
      {
        role: "user",
        content: "",
      },
    )
  })

  it("reads a null Chat Completions field (and logprobs false) as not set, as OpenAI does", () => {
    const base = { model: "m", messages: [{ role: "user", content: "Hi" }] }
    const unset = Object.fromEntries(
      [
        "logprobs",
        "top_logprobs",
        "tools",
        "tool_choice",
        "response_format",
        "modalities",
        "audio",
        "prediction",
      ].map((field) => [field, null]),
    )
    expect(fromOpenAIChatRequest({ ...base, ...unset })).toEqual(fromOpenAIChatRequest(base))
    expect(fromOpenAIChatRequest({ ...base, logprobs: false })).toEqual(fromOpenAIChatRequest(base))
    // What asks for something is still refused by name.
    expect(fieldOf(() => fromOpenAIChatRequest({ ...base, top_logprobs: 2 }))).toBe("top_logprobs")
    expect(fieldOf(() => fromOpenAIChatRequest({ ...base, modalities: ["audio"] }))).toBe("modalities")
    // A message's fields too: what an OpenAI client's history holds of them, as the answer gave it.
    const history = [
      { role: "system", content: "S" },
      { role: "user", content: "Hi" },
      {
        role: "assistant",
        content: "Hello",
        tool_calls: [{ id: "a", type: "function", function: { name: "t", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "a", content: "done" },
    ]
    const nulls = [
      { name: null },
      { name: null },
      { function_call: null, audio: null, refusal: null },
      { name: null },
    ]
    expect(
      fromOpenAIChatRequest({
        ...base,
        messages: history.map((message, at) => ({ ...message, ...nulls[at] })),
      }),
    ).toEqual(fromOpenAIChatRequest({ ...base, messages: history }))
    expect(
      fieldOf(() =>
        fromOpenAIChatRequest({ ...base, messages: [{ role: "user", content: "Hi", name: "ann" }] }),
      ),
    ).toBe("messages[0].name")
  })

  it("takes an image's detail when null or auto, as absent, and refuses any other by name", () => {
    const withDetail = (detail: unknown) => ({
      model: "m",
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: PNG, detail } }] }],
    })
    const plain = fromOpenAIChatRequest(withDetail(undefined))
    expect(fromOpenAIChatRequest(withDetail(null))).toEqual(plain)
    expect(fromOpenAIChatRequest(withDetail("auto"))).toEqual(plain)
    expect(fieldOf(() => fromOpenAIChatRequest(withDetail("high")))).toBe(
      "messages[0].content[0].image_url.detail",
    )
  })

  it("leaves null fields out, as many as a body may hold", () => {
    // At the bounds (DEFAULT_MAX_BODY_KEYS keys per object, DEFAULT_MAX_BODY_VALUES in all): 200 000 nulls.
    const nulls = Object.fromEntries(
      Array.from({ length: DEFAULT_MAX_BODY_KEYS - 10 }, (_, at) => [`unset_${at}`, null]),
    )
    const messages = Array.from({ length: DEFAULT_MAX_BODY_VALUES / DEFAULT_MAX_BODY_KEYS - 1 }, () => ({
      role: "user",
      content: "Hi",
    }))
    const body = { model: "m", messages: messages.map((message) => ({ ...message, ...nulls })), ...nulls }
    expect(fromOpenAIChatRequest(body)).toEqual(fromOpenAIChatRequest({ model: "m", messages }))
  })

  it("checks system messages and tools field by field, and keeps a strict tool for OpenAI only", () => {
    const base = { model: "m", messages: [{ role: "user", content: "Hi" }] }
    expect(
      fieldOf(() =>
        fromOpenAIChatRequest({ ...base, messages: [{ role: "system", content: "S", name: "x" }] }),
      ),
    ).toBe("messages[0].name")
    const tool = { type: "function", function: { name: "weather", parameters: WEATHER_SCHEMA } }
    expect(fieldOf(() => fromOpenAIChatRequest({ ...base, tools: [{ ...tool, cache: true }] }))).toBe(
      "tools[0].cache",
    )
    expect(
      fieldOf(() =>
        fromOpenAIChatRequest({
          ...base,
          tools: [{ ...tool, function: { ...tool.function, examples: [] } }],
        }),
      ),
    ).toBe("tools[0].function.examples")
    const strict = fromOpenAIChatRequest({
      ...base,
      tools: [{ ...tool, function: { ...tool.function, strict: true } }],
    })
    expect(toOpenAIChatRequest(strict).tools).toEqual([
      { type: "function", function: { name: "weather", parameters: WEATHER_SCHEMA, strict: true } },
    ])
    expect(fieldOf(() => toAnthropicMessagesRequest(strict))).toBe("tools[0].function.strict")
    const loose = fromOpenAIChatRequest({
      ...base,
      tools: [{ ...tool, function: { ...tool.function, strict: false } }],
    })
    expect(toAnthropicMessagesRequest(loose).tools).toEqual([
      { name: "weather", input_schema: WEATHER_SCHEMA },
    ])
  })

  it("merges consecutive user-side turns for Anthropic, which wants roles to alternate", () => {
    const request: NormalizedRequest = {
      model: "m",
      messages: [
        { role: "tool", toolCallId: "a", content: "1" },
        { role: "tool", toolCallId: "b", content: "2", isError: true },
        { role: "user", content: [{ type: "text", text: "and?" }] },
      ],
    }
    expect(toAnthropicMessagesRequest(request).messages).toEqual([
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "a", content: "1" },
          { type: "tool_result", tool_use_id: "b", content: "2", is_error: true },
          { type: "text", text: "and?" },
        ],
      },
    ])
  })
})

describe("an OpenAI answer sent back as history", () => {
  it("is taken as the API returns it, its annotations (URL citations) and null refusal included", () => {
    const citation = { url: "https://html.spec.whatwg.org", start_index: 4, end_index: 12 }
    const answer = {
      role: "assistant",
      content: "See the spec.",
      refusal: null,
      annotations: [{ type: "url_citation", url_citation: citation }],
    }
    const request = fromOpenAIChatRequest({
      model: "m",
      messages: [{ role: "user", content: "SSE?" }, answer, { role: "user", content: "More." }],
    })
    expect(request.messages[1]).toEqual({
      role: "assistant",
      content: [{ type: "text", text: "See the spec." }],
    })
  })
})

describe("AI SDK chat requests (useChat's UI messages)", () => {
  it("reads the same conversation as UI messages: a step per assistant turn, tool outputs as results", () => {
    const body = {
      id: "chat-1",
      trigger: "submit-message",
      messageId: undefined,
      model: "m",
      maxOutputTokens: 100,
      temperature: 0.5,
      messages: [
        { id: "s", role: "system", parts: [{ type: "text", text: "Be brief." }] },
        {
          id: "u1",
          role: "user",
          parts: [
            { type: "text", text: "Weather where this was taken?" },
            { type: "file", mediaType: "image/png", url: PNG },
          ],
        },
        {
          id: "a1",
          role: "assistant",
          parts: [
            { type: "step-start" },
            { type: "reasoning", text: "Look it up." },
            {
              type: "tool-weather",
              toolCallId: "call_1",
              state: "output-available",
              input: { city: "Oslo" },
              output: "Rain, 8 °C",
            },
            { type: "step-start" },
            { type: "text", text: "Take one." },
            { type: "data-note", data: { shown: true } },
          ],
        },
        { id: "u2", role: "user", parts: [{ type: "text", text: "Umbrella?" }] },
      ],
    }
    const { chatId, request } = fromAISdkChatRequest(body, "default")
    expect(chatId).toBe("chat-1")
    const { tools: _tools, toolChoice: _choice, stop: _stop, topP: _topP, ...expected } = NORMALIZED
    const messages = [...expected.messages]
    messages.splice(3, 0, { role: "assistant", content: [{ type: "text", text: "Take one." }] })
    // The step's reasoning is kept in its turn, in its place, for the servers that want it back.
    const turn = messages[1] as AssistantMessage
    messages[1] = { ...turn, content: [{ type: "reasoning", text: "Look it up." }, ...turn.content] }
    expect(request).toEqual({ ...expected, messages })
    // No model in the body: the default one.
    expect(fromAISdkChatRequest({ id: "c", messages: [] }, "default").request.model).toBe("default")
    // A system message's parts, as paragraphs, and apart for Messages; an empty one says nothing.
    const parts = [
      { type: "text", text: "Be brief." },
      { type: "text", text: "" },
      { type: "text", text: "Answer in French." },
    ]
    const system = fromAISdkChatRequest(
      { id: "c", system: "Be kind.", messages: [{ id: "s", role: "system", parts }] },
      "m",
    )
    expect(system.request.system).toBe("Be kind.\n\nBe brief.\n\nAnswer in French.")
    expect(toAnthropicMessagesRequest(system.request).system).toEqual([
      { type: "text", text: "Be kind." },
      parts[0],
      parts[2],
    ])
    expect(
      fieldOf(() => fromAISdkChatRequest({ id: "c", messages: [], maxOutputTokens: 0 }, "default")),
    ).toBe("maxOutputTokens")
  })

  it("names what it cannot send to the model", () => {
    const read = (messages: unknown[], extra: Record<string, unknown> = {}) =>
      fieldOf(() => fromAISdkChatRequest({ id: "c", messages, ...extra }, "m"))
    expect(read([], { id: "" })).toBe("id")
    expect(read([], { trigger: "resume" })).toBe("trigger")
    expect(read([], { tools: [] })).toBe("tools")
    expect(
      read([{ role: "assistant", parts: [{ type: "tool-x", toolCallId: "1", state: "input-available" }] }]),
    ).toBe("messages[0].parts[0].state")
    expect(read([{ role: "user", parts: [{ type: "file", mediaType: "text/plain", url: "data:," }] }])).toBe(
      "messages[0].parts[0].mediaType",
    )
    expect(read([{ role: "tool", parts: [] }])).toBe("messages[0].role")
  })

  it("takes the id of the assistant message a request continues (the last message), for the answer", () => {
    const user = { id: "u", role: "user", parts: [{ type: "text", text: "Weather?" }] }
    const assistant = (id: unknown) => ({
      id,
      role: "assistant",
      parts: [
        { type: "tool-weather", toolCallId: "c1", state: "output-available", input: {}, output: "rain" },
      ],
    })
    const read = (messages: unknown[]) => fromAISdkChatRequest({ id: "c", messages }, "m").continuedMessageId
    expect(read([user, assistant("a1")])).toBe("a1")
    // An earlier assistant message is not continued; a message without an id names none.
    expect(read([user, assistant("a1"), user])).toBeUndefined()
    expect(read([user, assistant(undefined)])).toBeUndefined()
    expect(read([user, assistant("x".repeat(256))])).toBe("x".repeat(256))
    for (const id of ["", "x".repeat(257), 7]) {
      expect(fieldOf(() => read([user, assistant(id)]))).toBe("messages[1].id")
    }
  })

  it("sends a tool turn's reasoning back only when asked to, and always then (an empty one too)", () => {
    const ui = {
      id: "c",
      messages: [
        { id: "u", role: "user", parts: [{ type: "text", text: "Weather?" }] },
        {
          id: "a",
          role: "assistant",
          parts: [
            { type: "step-start" },
            { type: "reasoning", text: "Needs the tool." },
            { type: "tool-weather", toolCallId: "c1", state: "output-available", input: {}, output: "rain" },
            { type: "step-start" },
            { type: "tool-time", toolCallId: "c2", state: "output-available", input: {}, output: "noon" },
          ],
        },
      ],
    }
    const { request } = fromAISdkChatRequest(ui, "m")
    const assistantTurns = (options: Parameters<typeof toOpenAIChatRequest>[1]) =>
      (toOpenAIChatRequest(request, options).messages as Record<string, unknown>[]).filter(
        (message) => message.role === "assistant",
      )
    expect(assistantTurns({ reasoningWithToolCalls: true }).map((turn) => turn.reasoning_content)).toEqual([
      "Needs the tool.",
      "",
    ])
    expect(assistantTurns({}).map((turn) => turn.reasoning_content)).toEqual([undefined, undefined])
    expect(() => toOpenAIChatRequest(request, "max_completion_tokens" as never)).toThrow(/must be an object/)
  })
})
