import { once } from "node:events"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { anthropicProvider } from "../../src/ai/anthropic.js"
import type { Entry } from "../../src/ai/entries.js"
import type { NormalizedRequest } from "../../src/ai/request.js"
import { UpstreamRequestError } from "../../src/ai/upstream-error.js"
import { anthropicEvent, collect, splitAt, startUpstream, type Upstream } from "./upstream.js"

// The documented stream, frame for frame (shared/specs/ai-wire-formats.md).
const DOCUMENTED = `event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"m","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}

event: message_stop
data: {"type":"message_stop"}

`

const DOCUMENTED_ENTRIES: Entry[] = [
  { type: "usage", inputTokens: 25, outputTokens: 1 },
  { type: "text-delta", text: "Hello" },
  { type: "finish", reason: "stop", rawReason: "end_turn" },
  { type: "usage", outputTokens: 15 },
]

const REQUEST: NormalizedRequest = {
  model: "m",
  system: "Be brief.",
  messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }],
}

const event = anthropicEvent

const START = event("message_start", {
  message: {
    id: "msg_1",
    type: "message",
    role: "assistant",
    content: [],
    usage: { input_tokens: 3, output_tokens: 1 },
  },
})
const STOP = event("message_stop")

function delta(index: number, fields: Record<string, unknown>): string {
  return event("content_block_delta", { index, delta: fields })
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
  const provider = anthropicProvider({
    baseURL: upstream.baseURL,
    apiKey: "sk-ant",
    headers: { "anthropic-beta": "x" },
  })
  return collect(provider.stream(REQUEST, signal))
}

describe("anthropic provider", () => {
  it("reads the documented stream and sends a streaming Messages request with its headers", async () => {
    upstream.answer = { chunks: [DOCUMENTED] }
    expect(await run()).toEqual(DOCUMENTED_ENTRIES)
    const [request] = upstream.requests
    expect(request?.path).toBe("/v1/messages")
    expect(request?.headers["x-api-key"]).toBe("sk-ant")
    expect(request?.headers["anthropic-version"]).toBe("2023-06-01")
    expect(request?.headers["anthropic-beta"]).toBe("x")
    expect(request?.body).toEqual({
      model: "m",
      system: "Be brief.",
      messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }],
      max_tokens: 4096,
      stream: true,
    })
  })

  it("reads the same entries whatever the byte at which the stream is cut in two", async () => {
    const short = `${START}${delta(0, { type: "text_delta", text: "héllo ✓" })}${STOP}`
    const length = Buffer.byteLength(short)
    for (let at = 1; at < length; at++) {
      upstream.answer = { chunks: splitAt(short, at) }
      expect(await run(), `cut at byte ${at}`).toEqual([
        { type: "usage", inputTokens: 3, outputTokens: 1 },
        { type: "text-delta", text: "héllo ✓" },
        // No message_delta said why it stopped: a plain end.
        { type: "finish", reason: "stop", rawReason: "" },
      ])
    }
  })

  it("reads CRLF line ends, comments and unknown event types", async () => {
    const unknown = event("content_block_shimmer", { index: 0, sparkle: true })
    upstream.answer = {
      chunks: [
        ": hello\r\n\r\n",
        DOCUMENTED.replace("event: ping", `${unknown}event: ping`).replaceAll("\n", "\r\n"),
      ],
    }
    expect(await run()).toEqual(DOCUMENTED_ENTRIES)
  })

  it("streams a tool_use block as start, input fragments and an end with the whole input", async () => {
    upstream.answer = {
      chunks: [
        START,
        event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
        delta(0, { type: "text_delta", text: "Let me check." }),
        event("content_block_stop", { index: 0 }),
        event("content_block_start", {
          index: 1,
          content_block: { type: "tool_use", id: "toolu_1", name: "weather", input: {} },
        }),
        delta(1, { type: "input_json_delta", partial_json: "" }),
        delta(1, { type: "input_json_delta", partial_json: '{"city": "Os' }),
        delta(1, { type: "input_json_delta", partial_json: 'lo"}' }),
        event("content_block_stop", { index: 1 }),
        event("message_delta", {
          delta: { stop_reason: "tool_use", stop_sequence: null },
          usage: { output_tokens: 40 },
        }),
        STOP,
      ],
    }
    expect((await run()).slice(1)).toEqual([
      { type: "text-delta", text: "Let me check." },
      { type: "tool-call-start", index: 0, id: "toolu_1", name: "weather" },
      { type: "tool-call-delta", index: 0, arguments: '{"city": "Os' },
      { type: "tool-call-delta", index: 0, arguments: 'lo"}' },
      { type: "tool-call-end", index: 0, arguments: '{"city": "Oslo"}' },
      { type: "finish", reason: "tool_calls", rawReason: "tool_use" },
      { type: "usage", outputTokens: 40 },
    ])
  })

  it("makes up an id for a tool_use block without one: unique to the answer, numbered within it", async () => {
    const call = (index: number, id?: string) => [
      event("content_block_start", {
        index,
        content_block: { type: "tool_use", ...(id !== undefined && { id }), name: "f", input: {} },
      }),
      event("content_block_stop", { index }),
    ]
    upstream.answer = { chunks: [START, ...call(0), ...call(1, ""), ...call(2, "toolu_given"), STOP] }
    const idsOf = (entries: Entry[]) =>
      entries.flatMap((entry) => (entry.type === "tool-call-start" ? [entry.id] : []))
    const ids = idsOf(await run())
    expect(ids[0]).toMatch(/^toolu_[\w-]{12}0$/)
    expect(ids).toEqual([ids[0], `${ids[0]?.slice(0, -1)}1`, "toolu_given"])
    expect(idsOf(await run())[0]).not.toBe(ids[0])
  })

  it("reads thinking, signatures, redacted thinking, citations and the stop sequence", async () => {
    const citation = { type: "char_location", cited_text: "sky", document_index: 0 }
    upstream.answer = {
      chunks: [
        START,
        event("content_block_start", { index: 0, content_block: { type: "thinking", thinking: "" } }),
        delta(0, { type: "thinking_delta", thinking: "Hmm." }),
        delta(0, { type: "signature_delta", signature: "c2ln" }),
        event("content_block_stop", { index: 0 }),
        event("content_block_start", {
          index: 1,
          content_block: { type: "redacted_thinking", data: "ZW5j" },
        }),
        event("content_block_stop", { index: 1 }),
        event("content_block_start", { index: 2, content_block: { type: "text", text: "" } }),
        delta(2, { type: "citations_delta", citation }),
        delta(2, { type: "text_delta", text: "Blue" }),
        event("content_block_stop", { index: 2 }),
        event("message_delta", {
          delta: { stop_reason: "stop_sequence", stop_sequence: "END" },
          usage: { output_tokens: 9 },
        }),
        STOP,
      ],
    }
    expect((await run()).slice(1)).toEqual([
      { type: "reasoning-delta", text: "Hmm." },
      { type: "reasoning-signature", signature: "c2ln" },
      { type: "reasoning-redacted", data: "ZW5j" },
      { type: "citation", citation },
      { type: "text-delta", text: "Blue" },
      { type: "finish", reason: "stop", rawReason: "stop_sequence", stopSequence: "END" },
      { type: "usage", outputTokens: 9 },
    ])
  })

  it("reads an empty signature_delta as no signature: the block's start signs it, no empty one follows a signed block", async () => {
    upstream.answer = {
      chunks: [
        START,
        event("content_block_start", {
          index: 0,
          content_block: { type: "thinking", thinking: "", signature: "c2ln" },
        }),
        delta(0, { type: "signature_delta", signature: "" }),
        event("content_block_stop", { index: 0 }),
        event("content_block_start", { index: 1, content_block: { type: "thinking", thinking: "" } }),
        delta(1, { type: "signature_delta", signature: "b3Ro" }),
        delta(1, { type: "signature_delta", signature: "" }),
        event("content_block_stop", { index: 1 }),
        STOP,
      ],
    }
    expect((await run()).slice(1, -1)).toEqual([
      { type: "reasoning-signature", signature: "c2ln" },
      { type: "reasoning-signature", signature: "b3Ro" },
    ])
  })

  it("keeps a stop sequence's stop after a tool call (its input may be cut), where end_turn becomes tool_calls", async () => {
    const tool = event("content_block_start", {
      index: 0,
      content_block: { type: "tool_use", id: "toolu_1", name: "f", input: {} },
    })
    for (const [raw, reason] of [
      ["stop_sequence", "stop"],
      ["end_turn", "tool_calls"],
    ] as const) {
      upstream.answer = {
        chunks: [
          START,
          tool,
          event("content_block_stop", { index: 0 }),
          event("message_delta", { delta: { stop_reason: raw }, usage: { output_tokens: 2 } }),
          STOP,
        ],
      }
      expect((await run()).find((entry) => entry.type === "finish")).toMatchObject({ reason, rawReason: raw })
    }
  })

  it("counts cached prompt tokens as input, and says how many were read from and written to the cache", async () => {
    const usage = {
      input_tokens: 5,
      cache_creation_input_tokens: 100,
      cache_read_input_tokens: 1000,
      output_tokens: 1,
    }
    upstream.answer = { chunks: [event("message_start", { message: { usage } }), STOP] }
    expect(await run()).toEqual([
      { type: "usage", inputTokens: 1105, outputTokens: 1, cacheReadTokens: 1000, cacheWriteTokens: 100 },
      { type: "finish", reason: "stop", rawReason: "" },
    ])
  })

  it("adds up the prompt's parts when a server tells them in different events", async () => {
    upstream.answer = {
      chunks: [
        event("message_start", { message: { usage: { input_tokens: 3602, output_tokens: 1 } } }),
        event("message_delta", {
          delta: { stop_reason: "end_turn" },
          usage: { cache_read_input_tokens: 3604, cache_creation_input_tokens: 0, output_tokens: 878 },
        }),
        STOP,
      ],
    }
    expect(await run()).toEqual([
      { type: "usage", inputTokens: 3602, outputTokens: 1 },
      { type: "finish", reason: "stop", rawReason: "end_turn" },
      { type: "usage", inputTokens: 7206, outputTokens: 878, cacheReadTokens: 3604, cacheWriteTokens: 0 },
    ])
  })

  it("turns event: error after 200 into the last entry", async () => {
    upstream.answer = {
      chunks: [
        START,
        delta(0, { type: "text_delta", text: "Hel" }),
        event("error", { error: { type: "overloaded_error", message: "Overloaded" } }),
        delta(0, { type: "text_delta", text: "never read" }),
      ],
    }
    expect((await run()).slice(1)).toEqual([
      { type: "text-delta", text: "Hel" },
      { type: "error", message: "Overloaded", errorType: "overloaded_error", afterOutput: true },
    ])
  })

  it("keeps the message of an error sent as a string, with a type or in OpenAI's shape without one", async () => {
    for (const frame of [
      event("error", { error: "Overloaded" }),
      `data: ${JSON.stringify({ error: "Overloaded" })}\n\n`,
    ]) {
      upstream.answer = { chunks: [START, frame] }
      expect((await run()).slice(1)).toEqual([
        { type: "error", message: "Overloaded", errorType: "api_error", afterOutput: false },
      ])
    }
  })

  it("ends with an error entry on a delta before message_start", async () => {
    upstream.answer = { chunks: [event("ping"), delta(0, { type: "text_delta", text: "Hel" }), STOP] }
    expect(await run()).toEqual([
      {
        type: "error",
        message: "content_block_delta before message_start",
        errorType: "protocol_error",
        afterOutput: false,
      },
    ])
  })

  it("ends with an error entry on a stream of message_stop alone: no answer, not an empty one", async () => {
    upstream.answer = { chunks: [event("ping"), STOP] }
    expect(await run()).toEqual([
      {
        type: "error",
        message: "message_stop before message_start",
        errorType: "protocol_error",
        afterOutput: false,
      },
    ])
  })

  it("throws a typed error carrying status, body and retry-after on a 429 before streaming", async () => {
    const body = {
      type: "error",
      error: { type: "rate_limit_error", message: "Number of requests has exceeded your rate limit" },
    }
    upstream.answer = (response) => {
      response.writeHead(429, {
        "content-type": "application/json",
        "retry-after": "7",
        "anthropic-ratelimit-requests-remaining": "0",
      })
      response.end(JSON.stringify(body))
    }
    const error = await run().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(UpstreamRequestError)
    expect(error).toMatchObject({
      status: 429,
      body,
      retryAfterMs: 7000,
      headers: { "retry-after": "7", "anthropic-ratelimit-requests-remaining": "0" },
    })
  })

  it("refuses a request Messages cannot express before asking the upstream", async () => {
    const provider = anthropicProvider({ baseURL: upstream.baseURL })
    const json: NormalizedRequest = { ...REQUEST, responseFormat: { type: "json_object" } }
    await expect(collect(provider.stream(json, new AbortController().signal))).rejects.toMatchObject({
      name: "RequestFieldError",
      field: "response_format",
    })
    expect(upstream.requests).toEqual([])
  })

  it("throws a typed error when a 200 is not an event stream", async () => {
    upstream.answer = (response) => {
      response.writeHead(200, { "content-type": "application/json" })
      response.end("{}")
    }
    await expect(run()).rejects.toMatchObject({ name: "UpstreamRequestError", status: 200 })
  })

  it("ends with an error entry on a frame that is not JSON", async () => {
    upstream.answer = { chunks: [START, "event: content_block_delta\ndata: {nope\n\n", STOP] }
    expect((await run())[1]).toMatchObject({
      type: "error",
      errorType: "malformed_frame",
      afterOutput: false,
    })
  })

  it("ends with a stream_cut error when the stream ends without message_stop or a stop reason", async () => {
    upstream.answer = { chunks: [START, delta(0, { type: "text_delta", text: "Hel" })] }
    expect((await run()).at(-1)).toEqual({
      type: "error",
      errorType: "stream_cut",
      message: "the upstream stream ended before its final frame",
      afterOutput: true,
    })
  })

  it("closes the upstream connection at once when the signal aborts a stalled stream", async () => {
    upstream.answer = (response) => {
      response.writeHead(200, { "content-type": "text/event-stream" })
      response.write(START)
      // Then stalls: nothing more, ever.
    }
    const controller = new AbortController()
    const provider = anthropicProvider({ baseURL: upstream.baseURL })
    const iterator = provider.stream(REQUEST, controller.signal)[Symbol.asyncIterator]()
    expect((await iterator.next()).value).toMatchObject({ type: "usage" })
    const pending = iterator.next()
    const socket = upstream.lastSocket as NonNullable<Upstream["lastSocket"]>
    expect(socket.destroyed).toBe(false)
    const closed = once(socket, "close")
    const abortedAt = performance.now()
    controller.abort()
    await expect(pending).rejects.toMatchObject({ name: "AbortError" })
    await closed
    // Loopback closes in about a millisecond; the bound is loose for a busy 2-core machine.
    expect(performance.now() - abortedAt).toBeLessThan(500)
  })
})
