import { once } from "node:events"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import type { Entry, UsageEntry } from "../../src/ai/entries.js"
import { createModels } from "../../src/ai/models.js"
import { openaiProvider, serverDefaults } from "../../src/ai/openai.js"
import { openaiUsage } from "../../src/ai/openai-view.js"
import type { NormalizedRequest } from "../../src/ai/request.js"
import { UPSTREAM_AGENTS } from "../../src/ai/sse-over-http.js"
import type { MaxTokensField } from "../../src/ai/to-openai-request.js"
import { UpstreamRequestError } from "../../src/ai/upstream-error.js"
import { collect, splitAt, startUpstream, type Upstream } from "./upstream.js"

// The documented stream, frame for frame (shared/specs/ai-wire-formats.md).
const DOCUMENTED = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}

data: [DONE]

`

const DOCUMENTED_ENTRIES: Entry[] = [
  { type: "text-delta", text: "Hel" },
  { type: "finish", reason: "stop", rawReason: "stop" },
  { type: "usage", inputTokens: 9, outputTokens: 12 },
]

/** Waits until a connection went back to the upstream agent (after [DONE], the rest of the body is read first). */
async function connectionFreed(): Promise<void> {
  for (let waited = 0; Object.keys(UPSTREAM_AGENTS.http.freeSockets).length === 0; waited += 10) {
    if (waited > 2_000) throw new Error("the connection never went back to the agent")
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const REQUEST: NormalizedRequest = {
  model: "m",
  messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }],
}

/** One `data:` frame of a chunk with choice 0's `delta` and `finish_reason`. */
function chunk(delta: Record<string, unknown>, finishReason: string | null = null): string {
  const body = {
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  }
  return `data: ${JSON.stringify(body)}\n\n`
}

let upstream: Upstream

beforeAll(async () => {
  upstream = await startUpstream()
})
afterAll(() => upstream.close())
beforeEach(() => {
  upstream.requests.length = 0
})

function run(signal = new AbortController().signal): Promise<Entry[]> {
  const provider = openaiProvider({
    baseURL: upstream.baseURL,
    apiKey: "sk-test",
    headers: { "x-extra": "1" },
  })
  return collect(provider.stream(REQUEST, signal))
}

describe("openai provider", () => {
  it("reads the documented stream and sends a streaming request with usage", async () => {
    upstream.answer = { chunks: [DOCUMENTED] }
    expect(await run()).toEqual(DOCUMENTED_ENTRIES)
    const [request] = upstream.requests
    expect(request?.path).toBe("/v1/chat/completions")
    expect(request?.headers.authorization).toBe("Bearer sk-test")
    expect(request?.headers["x-extra"]).toBe("1")
    expect(request?.body).toEqual({
      model: "m",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
      stream_options: { include_usage: true },
    })
  })

  it("sends the most output tokens as max_tokens to compatible servers, as max_completion_tokens to OpenAI's API", async () => {
    upstream.answer = { chunks: [DOCUMENTED] }
    const limited = { ...REQUEST, maxTokens: 50 }
    await collect(openaiProvider({ baseURL: upstream.baseURL }).stream(limited, new AbortController().signal))
    await collect(
      openaiProvider({ baseURL: upstream.baseURL, maxTokensField: "max_completion_tokens" }).stream(
        limited,
        new AbortController().signal,
      ),
    )
    expect(
      upstream.requests.map((request) => [request.body.max_tokens, request.body.max_completion_tokens]),
    ).toEqual([
      [50, undefined],
      [undefined, 50],
    ])
    expect(serverDefaults("https://api.openai.com/v1").maxTokensField).toBe("max_completion_tokens")
    expect(serverDefaults("http://localhost:11434/v1").maxTokensField).toBe("max_tokens")
    expect(() => openaiProvider({ baseURL: "localhost:11434" })).toThrow(/http\(s\) URL/)
    expect(() =>
      openaiProvider({ baseURL: upstream.baseURL, maxTokensField: "max_output_tokens" as MaxTokensField }),
    ).toThrow(/maxTokensField/)
    expect(() => createModels({ claude: { provider: "anthropic", maxTokensField: "max_tokens" } })).toThrow(
      /model "claude": maxTokensField is a setting of openai models only/,
    )
  })

  it("a model's fields of the wrong type, and a public API without a key, are refused when the models are made", () => {
    const local = { baseURL: "http://localhost:11434/v1" }
    const refused: [Record<string, unknown>, RegExp][] = [
      [{ provider: "openai", ...local, model: 42 }, /model "m": model must be a non-empty string; got 42/],
      [{ provider: "anthropic", ...local, apiKey: true }, /model "m": apiKey must be a non-empty string/],
      [
        { provider: "openai", ...local, headers: { "x-org": 1 } },
        /model "m": headers must be an object of strings/,
      ],
      [{ provider: "anthropic", baseURL: 7 }, /model "m": baseURL must be an http\(s\) URL/],
      [{ provider: "openai" }, /model "m": api\.openai\.com refuses every request without a key/],
      [
        { provider: "anthropic", baseURL: "https://api.anthropic.com/v1" },
        /api\.anthropic\.com refuses every request without a key/,
      ],
    ]
    for (const [config, message] of refused) {
      expect(() => createModels({ m: config as never }), JSON.stringify(config)).toThrow(message)
    }
    // A key, or headers that carry one, or a server of one's own: no key needed.
    for (const config of [
      { provider: "openai", apiKey: "sk-test" },
      { provider: "anthropic", headers: { "X-Api-Key": "k" } },
      { provider: "openai", ...local },
    ]) {
      expect(createModels({ m: config as never }).get("m")?.provider.kind).toBe(config.provider)
    }
  })

  it("reads the same entries whatever the byte at which the stream is cut in two", async () => {
    const short = `${chunk({ content: "héllo ✓" })}${chunk({}, "stop")}data: [DONE]\n\n`
    const length = Buffer.byteLength(short)
    for (let at = 1; at < length; at++) {
      upstream.answer = { chunks: splitAt(short, at) }
      expect(await run(), `cut at byte ${at}`).toEqual([
        { type: "text-delta", text: "héllo ✓" },
        { type: "finish", reason: "stop", rawReason: "stop" },
      ])
    }
  })

  it("reads CRLF line ends, comments, id: lines, obfuscation and unknown fields", async () => {
    const noisy = DOCUMENTED.replaceAll(
      '"model":"m",',
      '"model":"m","obfuscation":"x9Zq","system_fingerprint":"fp",',
    )
      .replaceAll("data: {", "id: 7\ndata: {")
      .replaceAll("\n", "\r\n")
    upstream.answer = { chunks: [": OPENROUTER PROCESSING\r\n\r\n", ": ping\r\n\r\n", noisy] }
    expect(await run()).toEqual(DOCUMENTED_ENTRIES)
  })

  it("streams tool calls as start, argument fragments and an end with the whole arguments", async () => {
    upstream.answer = {
      chunks: [
        chunk({
          tool_calls: [
            { index: 0, id: "call_a", type: "function", function: { name: "weather", arguments: "" } },
          ],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
        chunk({ tool_calls: [{ index: 1, id: "call_b", function: { name: "time", arguments: "{}" } }] }),
        chunk({}, "tool_calls"),
        "data: [DONE]\n\n",
      ],
    }
    expect(await run()).toEqual([
      { type: "tool-call-start", index: 0, id: "call_a", name: "weather" },
      { type: "tool-call-delta", index: 0, arguments: '{"city":' },
      { type: "tool-call-delta", index: 0, arguments: '"Oslo"}' },
      { type: "tool-call-start", index: 1, id: "call_b", name: "time" },
      { type: "tool-call-delta", index: 1, arguments: "{}" },
      { type: "tool-call-end", index: 0, arguments: '{"city":"Oslo"}' },
      { type: "tool-call-end", index: 1, arguments: "{}" },
      { type: "finish", reason: "tool_calls", rawReason: "tool_calls" },
    ])
  })

  it("reads reasoning_content and reasoning as reasoning", async () => {
    upstream.answer = {
      chunks: [
        chunk({ reasoning_content: "Think" }),
        chunk({ reasoning: "ing." }),
        chunk({}, "length"),
        "data: [DONE]\n\n",
      ],
    }
    expect(await run()).toEqual([
      { type: "reasoning-delta", text: "Think" },
      { type: "reasoning-delta", text: "ing." },
      { type: "finish", reason: "length", rawReason: "length" },
    ])
  })

  it.each([
    [
      "OpenAI's",
      'data: {"error": {"message": "The server had an error", "type": "server_error", "code": "boom"}}\n\n',
      { message: "The server had an error", errorType: "server_error", code: "boom" },
    ],
    [
      "vLLM's",
      'data: {"object": "error", "message": "out of memory", "type": "InternalServerError", "code": 500}\n\n',
      { message: "out of memory", errorType: "InternalServerError", code: "500" },
    ],
  ])("turns %s error after 200 into the last entry", async (_name, frame, error) => {
    upstream.answer = { chunks: [chunk({ content: "Hel" }), frame, chunk({ content: "never read" })] }
    expect(await run()).toEqual([
      { type: "text-delta", text: "Hel" },
      { type: "error", ...error, afterOutput: true },
    ])
  })

  it("throws a typed error carrying status, body and retry-after on a 429 before streaming", async () => {
    const body = { error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } }
    upstream.answer = (response) => {
      response.writeHead(429, {
        "content-type": "application/json",
        "retry-after": "2",
        "x-ratelimit-remaining-requests": "0",
      })
      response.end(JSON.stringify(body))
    }
    const error = await run().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(UpstreamRequestError)
    expect(error).toMatchObject({
      status: 429,
      body,
      retryAfterMs: 2000,
      headers: { "retry-after": "2", "x-ratelimit-remaining-requests": "0" },
      message: "the upstream answered 429: Rate limit reached",
    })
  })

  it("throws a typed error without status when the upstream cannot be reached", async () => {
    const provider = openaiProvider({ baseURL: "http://127.0.0.1:1/v1" })
    const error = await collect(provider.stream(REQUEST, new AbortController().signal)).catch(
      (caught) => caught,
    )
    expect(error).toBeInstanceOf(UpstreamRequestError)
    expect(error.status).toBeUndefined()
  })

  it("reads an error given as a string (TGI, some proxies), and reasoning from whichever field has it", async () => {
    upstream.answer = {
      chunks: [
        chunk({ reasoning_content: "", reasoning: "Hmm." }),
        'data: {"error":"Input validation error"}\n\n',
      ],
    }
    expect(await run()).toEqual([
      { type: "reasoning-delta", text: "Hmm." },
      { type: "error", message: "Input validation error", errorType: "upstream_error", afterOutput: true },
    ])
  })

  it("tells apart unindexed calls without ids by their names, drops a call that never had a name or arguments, and ends calls at [DONE] without a finish", async () => {
    upstream.answer = {
      chunks: [
        chunk({ tool_calls: [{ index: 0, id: "call_x", type: "function" }] }),
        chunk({ content: "Hi" }),
        chunk({}, "stop"),
      ],
    }
    expect(await run()).toEqual([
      { type: "text-delta", text: "Hi" },
      { type: "finish", reason: "stop", rawReason: "stop" },
    ])
    upstream.answer = {
      chunks: [
        chunk({
          tool_calls: [
            { function: { name: "a", arguments: '{"x":1}' } },
            { function: { name: "b", arguments: '{"y":' } },
            { function: { arguments: "2}" } },
          ],
        }),
        "data: [DONE]\n\n",
      ],
    }
    const entries = await run()
    // Made up for a server that gives none: unique to the answer, numbered within it.
    const madeUp = /^call_[\w-]{12}$/
    const ids = entries.flatMap((entry) => (entry.type === "tool-call-start" ? [entry.id] : []))
    expect(ids.map((id) => id.slice(0, -1))).toEqual([expect.stringMatching(madeUp), ids[0]?.slice(0, -1)])
    expect(ids.map((id) => id.at(-1))).toEqual(["0", "1"])
    const [other] = (await run()).flatMap((entry) => (entry.type === "tool-call-start" ? [entry.id] : []))
    expect(other).not.toBe(ids[0])
    expect(entries).toEqual([
      { type: "tool-call-start", index: 0, id: ids[0], name: "a" },
      { type: "tool-call-delta", index: 0, arguments: '{"x":1}' },
      { type: "tool-call-start", index: 1, id: ids[1], name: "b" },
      { type: "tool-call-delta", index: 1, arguments: '{"y":' },
      { type: "tool-call-delta", index: 1, arguments: "2}" },
      { type: "tool-call-end", index: 0, arguments: '{"x":1}' },
      { type: "tool-call-end", index: 1, arguments: '{"y":2}' },
      // No reason given: the answer is its calls.
      { type: "finish", reason: "tool_calls", rawReason: "" },
    ])
  })

  it("ends with an error entry on a frame that is not JSON", async () => {
    upstream.answer = { chunks: ['data: {"choices": [\n\n', chunk({ content: "never read" })] }
    const entries = await run()
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({ type: "error", errorType: "malformed_frame", afterOutput: false })
  })

  it("ends with a stream_cut error when the stream ends without [DONE] or a finish reason", async () => {
    upstream.answer = { chunks: [chunk({ content: "Hel" })] }
    expect(await run()).toEqual([
      { type: "text-delta", text: "Hel" },
      {
        type: "error",
        errorType: "stream_cut",
        message: "the upstream stream ended before its final frame",
        afterOutput: true,
      },
    ])
  })

  it("ends with a stream_cut error when the upstream connection drops mid-stream", async () => {
    upstream.answer = (response, socket) => {
      response.writeHead(200, { "content-type": "text/event-stream" })
      response.write(chunk({ content: "Hel" }), () => socket.destroy())
    }
    const entries = await run()
    expect(entries[0]).toEqual({ type: "text-delta", text: "Hel" })
    expect(entries[1]).toMatchObject({ type: "error", errorType: "stream_cut", afterOutput: true })
    expect(entries).toHaveLength(2)
  })

  it("accepts a stream that ends after its finish reason without [DONE]", async () => {
    upstream.answer = { chunks: [chunk({ content: "Hel" }), chunk({}, "stop")] }
    expect((await run()).map((entry) => entry.type)).toEqual(["text-delta", "finish"])
  })

  it("sends the next request on the connection of a stream read to its end", async () => {
    UPSTREAM_AGENTS.http.destroy()
    upstream.answer = { chunks: [DOCUMENTED] }
    const provider = openaiProvider({ baseURL: upstream.baseURL })
    expect(await collect(provider.stream(REQUEST, new AbortController().signal))).toEqual(DOCUMENTED_ENTRIES)
    const first = upstream.lastSocket
    await connectionFreed()
    expect(await collect(provider.stream(REQUEST, new AbortController().signal))).toEqual(DOCUMENTED_ENTRIES)
    expect(upstream.lastSocket).toBe(first)
    expect(first?.destroyed).toBe(false)
  })

  it("sends a request again on a new connection when the kept-alive one it reused was closed", async () => {
    // No connection left from the tests before: the one this test frees is the one reused.
    UPSTREAM_AGENTS.http.destroy()
    const provider = openaiProvider({ baseURL: upstream.baseURL })
    upstream.answer = { chunks: [DOCUMENTED] }
    expect(await collect(provider.stream(REQUEST, new AbortController().signal))).toEqual(DOCUMENTED_ENTRIES)
    await connectionFreed()
    const kept = upstream.lastSocket
    let dropped = 0
    const before = upstream.requests.length
    upstream.answer = (response, socket) => {
      // As a server that closed the idle connection just as it was reused: no answer on it.
      if (socket === kept) {
        dropped++
        socket.destroy()
        return
      }
      response.writeHead(200, { "content-type": "text/event-stream" })
      response.end(DOCUMENTED)
    }
    expect(await collect(provider.stream(REQUEST, new AbortController().signal))).toEqual(DOCUMENTED_ENTRIES)
    expect(dropped).toBe(1)
    expect(upstream.requests.length - before).toBe(2)
  })

  it("cuts an upstream that sends nothing for idleTimeoutMs: before its head a refusal, mid-stream an error entry", async () => {
    const provider = openaiProvider({ baseURL: upstream.baseURL, idleTimeoutMs: 100 })
    upstream.answer = () => {
      // Never answers.
    }
    await expect(collect(provider.stream(REQUEST, new AbortController().signal))).rejects.toMatchObject({
      name: "UpstreamRequestError",
      message: expect.stringContaining("sent nothing for 100 ms"),
    })
    upstream.answer = (response) => {
      response.writeHead(200, { "content-type": "text/event-stream" })
      response.write(chunk({ content: "Hel" }))
      // Then stalls.
    }
    const entries = await collect(provider.stream(REQUEST, new AbortController().signal))
    expect(entries).toEqual([
      { type: "text-delta", text: "Hel" },
      expect.objectContaining({ type: "error", errorType: "stream_cut", afterOutput: true }),
    ])
    expect((entries[1] as { message: string }).message).toContain("sent nothing for 100 ms")
    expect(() => createModels({ slow: { provider: "openai", idleTimeoutMs: -1 } })).toThrow(/idleTimeoutMs/)
  })

  it("closes the upstream connection at once when the signal aborts a stalled stream", async () => {
    upstream.answer = (response) => {
      response.writeHead(200, { "content-type": "text/event-stream" })
      response.write(chunk({ content: "Hel" }))
      // Then stalls: nothing more, ever.
    }
    const controller = new AbortController()
    const provider = openaiProvider({ baseURL: upstream.baseURL })
    const iterator = provider.stream(REQUEST, controller.signal)[Symbol.asyncIterator]()
    expect((await iterator.next()).value).toEqual({ type: "text-delta", text: "Hel" })
    const pending = iterator.next()
    const socket = upstream.lastSocket
    expect(socket?.destroyed).toBe(false)
    const closed = once(socket as NonNullable<typeof socket>, "close")
    const abortedAt = performance.now()
    controller.abort()
    await expect(pending).rejects.toMatchObject({ name: "AbortError" })
    await closed
    // Loopback closes in about a millisecond; the bound is loose for a busy 2-core machine.
    expect(performance.now() - abortedAt).toBeLessThan(500)
  })

  it("closes the upstream connection when the consumer stops reading", async () => {
    upstream.answer = (response) => {
      response.writeHead(200, { "content-type": "text/event-stream" })
      response.write(chunk({ content: "Hel" }))
    }
    const provider = openaiProvider({ baseURL: upstream.baseURL })
    for await (const entry of provider.stream(REQUEST, new AbortController().signal)) {
      expect(entry).toEqual({ type: "text-delta", text: "Hel" })
      break
    }
    const socket = upstream.lastSocket as NonNullable<Upstream["lastSocket"]>
    if (!socket.destroyed) await once(socket, "close")
  })

  it("asks for the usage chunk unless the model says not to, or the server is Mistral's API (which refuses it)", async () => {
    upstream.answer = { chunks: [DOCUMENTED] }
    const quiet = openaiProvider({ baseURL: upstream.baseURL, streamUsage: false })
    expect(await collect(quiet.stream(REQUEST, new AbortController().signal))).toEqual(DOCUMENTED_ENTRIES)
    expect(upstream.requests[0]?.body.stream_options).toBeUndefined()
    expect(upstream.requests[0]?.body.stream).toBe(true)
    expect(serverDefaults("https://api.mistral.ai/v1").streamUsage).toBe(false)
    expect(serverDefaults("https://api.openai.com/v1").streamUsage).toBe(true)
    expect(serverDefaults("https://generativelanguage.googleapis.com/v1beta/openai").thoughtSignatures).toBe(
      true,
    )
    expect(serverDefaults("https://us-central1-aiplatform.googleapis.com/v1").thoughtSignatures).toBe(true)
    expect(serverDefaults("https://api.openai.com/v1").thoughtSignatures).toBe(false)
    expect(serverDefaults("https://api.deepseek.com/v1").reasoningWithToolCalls).toBe(true)
    expect(serverDefaults("https://api.openai.com/v1").reasoningWithToolCalls).toBe(false)
    expect(serverDefaults("https://openrouter.ai/api/v1").topK).toBe(true)
    expect(serverDefaults("https://api.openai.com/v1").topK).toBe(false)
    expect(() =>
      createModels({ m: { provider: "openai", streamUsage: null as unknown as boolean } }),
    ).toThrow(/model "m": streamUsage is null/)
    expect(() =>
      openaiProvider({ baseURL: upstream.baseURL, streamUsage: "no" as unknown as boolean }),
    ).toThrow(/streamUsage must be true or false/)
  })

  it("reads Mistral's content lists: thinking parts as reasoning, text parts as text", async () => {
    upstream.answer = {
      chunks: [
        chunk({
          role: "assistant",
          content: [{ type: "thinking", thinking: [{ type: "text", text: "Hmm, " }] }],
        }),
        chunk({
          content: [
            { type: "thinking", thinking: [{ type: "text", text: "yes." }] },
            { type: "text", text: "A" },
          ],
        }),
        chunk({ content: "B" }, "stop"),
        "data: [DONE]\n\n",
      ],
    }
    expect(await run()).toEqual([
      { type: "reasoning-delta", text: "Hmm, " },
      { type: "reasoning-delta", text: "yes." },
      { type: "text-delta", text: "A" },
      { type: "text-delta", text: "B" },
      { type: "finish", reason: "stop", rawReason: "stop" },
    ])
  })

  it("reads Mistral's model_length as the length finish, and a reason named like an Object property as other", async () => {
    upstream.answer = { chunks: [chunk({ content: "x" }, "model_length"), "data: [DONE]\n\n"] }
    expect((await run()).at(-1)).toEqual({ type: "finish", reason: "length", rawReason: "model_length" })
    upstream.answer = { chunks: [chunk({ content: "x" }, "constructor"), "data: [DONE]\n\n"] }
    expect((await run()).at(-1)).toEqual({ type: "finish", reason: "other", rawReason: "constructor" })
  })

  it('ends an answer of tool calls finished with "stop" (a forced tool choice) as tool_calls', async () => {
    upstream.answer = {
      chunks: [
        chunk({
          tool_calls: [
            { index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "{}" } },
          ],
        }),
        chunk({}, "stop"),
        "data: [DONE]\n\n",
      ],
    }
    expect((await run()).at(-1)).toEqual({ type: "finish", reason: "tool_calls", rawReason: "stop" })
  })

  it("ends an answer cut short by the server (DeepSeek's insufficient_system_resource, Mistral's error) as an error", async () => {
    for (const reason of ["insufficient_system_resource", "error"]) {
      // Mistral sends its usage in the last chunk, the finish's.
      const last = {
        choices: [{ index: 0, delta: {}, finish_reason: reason }],
        usage: { prompt_tokens: 1200, completion_tokens: 37 },
      }
      upstream.answer = {
        chunks: [chunk({ content: "Partial" }), `data: ${JSON.stringify(last)}\n\n`, "data: [DONE]\n\n"],
      }
      expect(await run()).toEqual([
        { type: "text-delta", text: "Partial" },
        { type: "usage", inputTokens: 1200, outputTokens: 37 },
        {
          type: "error",
          message: `the upstream ended the answer early (finish_reason "${reason}")`,
          errorType: reason,
          afterOutput: true,
        },
      ])
    }
  })

  it("reads DeepSeek's prompt_cache_hit_tokens, and tool arguments sent as a JSON object", async () => {
    upstream.answer = {
      chunks: [
        chunk({
          tool_calls: [
            { index: 0, id: "call_1", type: "function", function: { name: "f", arguments: { a: 1 } } },
          ],
        }),
        chunk({}, "tool_calls"),
        `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 2, prompt_cache_hit_tokens: 8 } })}\n\n`,
        "data: [DONE]\n\n",
      ],
    }
    const entries = await run()
    expect(entries).toContainEqual({ type: "tool-call-end", index: 0, arguments: '{"a":1}' })
    expect(entries.at(-1)).toEqual({ type: "usage", inputTokens: 10, outputTokens: 2, cacheReadTokens: 8 })
  })

  it("reads the output tokens spent reasoning, which an OpenAI client gets back as they came", async () => {
    const usage = {
      prompt_tokens: 5,
      completion_tokens: 420,
      completion_tokens_details: { reasoning_tokens: 400 },
    }
    upstream.answer = {
      chunks: [
        chunk({ content: "Hi" }),
        chunk({}, "stop"),
        `data: ${JSON.stringify({ choices: [], usage })}\n\n`,
      ],
    }
    const entries = await run()
    const entry = entries.at(-1)
    expect(entry).toEqual({ type: "usage", inputTokens: 5, outputTokens: 420, reasoningTokens: 400 })
    expect(openaiUsage(entry as UsageEntry)).toEqual({ ...usage, total_tokens: 425 })
  })
})
