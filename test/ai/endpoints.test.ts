import Anthropic from "@anthropic-ai/sdk"
import OpenAI from "openai"
import { afterEach, describe, expect, it } from "vitest"
import { demoProvider } from "../../src/ai/demo.js"
import { createAIHandler } from "../../src/ai/handler.js"
import { STREAM_INTERRUPTED } from "../../src/ai/stream-interrupted.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createRedisEngine } from "../../src/engine/redis.js"
import { createParser, type ServerSentEvent } from "../../src/protocol/index.js"
import { switchableEngine } from "../engine/switchable-engine.js"
import { listen, recordingLogger, stop } from "../server/helpers.js"
import { aiToken, openGenerationOf, readEvents, startAI, type TestAI } from "./ai-server.js"
import { testEngines } from "./engines.js"
import { collect, OPENAI_ERROR_AFTER_TEXT, openaiChunk, startUpstream, type Upstream } from "./upstream.js"

const PROMPT = "Tell me about resumable streams over server-sent events"
const FAST_DEMO = {
  provider: "demo" as const,
  timeToFirstTokenMs: 0,
  tokensPerSecond: Number.POSITIVE_INFINITY,
}

let running: TestAI | undefined
let upstream: Upstream | undefined
afterEach(async () => {
  await running?.close()
  await upstream?.close()
  running = undefined
  upstream = undefined
})

/** The demo model's whole answer to `prompt`, straight from the provider. */
async function demoAnswer(prompt: string, words?: number): Promise<string> {
  const entries = await collect(
    demoProvider({
      timeToFirstTokenMs: 0,
      tokensPerSecond: Number.POSITIVE_INFINITY,
      ...(words === undefined ? {} : { words }),
    }).stream(
      { model: "demo", messages: [{ role: "user", content: [{ type: "text", text: prompt }] }] },
      new AbortController().signal,
    ),
  )
  return entries.map((entry) => (entry.type === "text-delta" ? entry.text : "")).join("")
}

function openai(origin: string, apiKey = "unused"): OpenAI {
  return new OpenAI({ baseURL: `${origin}/v1`, apiKey, maxRetries: 0 })
}

function anthropic(origin: string, apiKey = "unused"): Anthropic {
  return new Anthropic({ baseURL: origin, apiKey, maxRetries: 0 })
}

/** The text of OpenAI chunk events. */
function openaiText(events: readonly ServerSentEvent[]): string {
  let text = ""
  for (const event of events) {
    if (event.data === "[DONE]") continue
    const chunk = JSON.parse(event.data) as { choices?: { delta?: { content?: string } }[] }
    text += chunk.choices?.[0]?.delta?.content ?? ""
  }
  return text
}

/** The text of Anthropic events. */
function anthropicText(events: readonly ServerSentEvent[]): string {
  let text = ""
  for (const event of events) {
    if (event.type !== "content_block_delta") continue
    const delta = (JSON.parse(event.data) as { delta: { type: string; text?: string } }).delta
    if (delta.type === "text_delta") text += delta.text ?? ""
  }
  return text
}

const ENGINES = await testEngines("endpoints")

for (const kind of ENGINES) {
  // What goes through the engine: a generation's log written, read whole, resumed from a cursor
  // during and after the answer, cancelled; a dead node's generation closed by another.
  describe.skipIf(!kind.available)(`on the ${kind.name} engine`, () => {
    describe("the official SDKs against the demo model", () => {
      it("openai: streams the demo answer, with the generation id, usage and [DONE]", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: FAST_DEMO } })
        const { data: stream, response } = await openai(running.origin)
          .chat.completions.create({
            model: "demo",
            messages: [{ role: "user", content: PROMPT }],
            stream: true,
            stream_options: { include_usage: true },
          })
          .withResponse()
        const id = response.headers.get("herald-generation-id")
        expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/)
        let text = ""
        let finish: string | null | undefined
        let usage: { completion_tokens: number } | undefined | null
        for await (const chunk of stream) {
          expect(chunk.id).toBe(`chatcmpl-${id}`)
          text += chunk.choices[0]?.delta.content ?? ""
          finish = chunk.choices[0]?.finish_reason ?? finish
          usage = chunk.usage ?? usage
        }
        expect(text).toBe(await demoAnswer(PROMPT))
        expect(finish).toBe("stop")
        expect(usage?.completion_tokens).toBeGreaterThan(10)
      })

      it("openai: answers a whole chat.completion when not streaming", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: FAST_DEMO } })
        const completion = await openai(running.origin).chat.completions.create({
          model: "demo",
          messages: [{ role: "user", content: PROMPT }],
        })
        expect(completion.object).toBe("chat.completion")
        expect(completion.choices[0]?.message.content).toBe(await demoAnswer(PROMPT))
        expect(completion.usage?.completion_tokens).toBeGreaterThan(10)
      })

      it("anthropic: streams the demo answer as Messages events, and answers a whole message", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: FAST_DEMO } })
        const client = anthropic(running.origin)
        const stream = client.messages.stream({
          model: "demo",
          max_tokens: 1024,
          messages: [{ role: "user", content: PROMPT }],
        })
        const message = await stream.finalMessage()
        const expected = await demoAnswer(PROMPT)
        expect(message.content).toEqual(
          [{ type: "text", text: expected, citations: null }].map(({ citations: _, ...block }) => block),
        )
        expect(message.stop_reason).toBe("end_turn")
        expect(message.usage.output_tokens).toBeGreaterThan(10)
        const whole = await client.messages.create({
          model: "demo",
          max_tokens: 1024,
          messages: [{ role: "user", content: PROMPT }],
        })
        expect(whole.content).toEqual([{ type: "text", text: expected }])
      })
    })

    describe("resume", () => {
      /** Starts a streaming generation with raw fetch and returns its id and response. */
      async function start(origin: string, body: Record<string, unknown>, path = "/v1/chat/completions") {
        const response = await fetch(`${origin}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", "herald-on-disconnect": "continue" },
          body: JSON.stringify({ stream: true, messages: [{ role: "user", content: PROMPT }], ...body }),
        })
        expect(response.status).toBe(200)
        return { id: response.headers.get("herald-generation-id") as string, response }
      }

      function resume(
        origin: string,
        id: string,
        cursor: string | undefined,
        format?: string,
      ): Promise<Response> {
        const query = format === undefined ? "" : `?format=${format}`
        return fetch(`${origin}/v1/generations/${id}/stream${query}`, {
          headers: cursor === undefined ? {} : { "last-event-id": cursor },
        })
      }

      /** Reads the whole answer in pieces: each piece cut after a random number of events, then resumed. */
      async function readInPieces(
        origin: string,
        id: string,
        text: (events: readonly ServerSentEvent[]) => string,
        random: () => number,
        format?: string,
      ): Promise<{ text: string; pieces: number }> {
        let cursor: string | undefined
        let whole = ""
        for (let pieces = 1; pieces <= 500; pieces++) {
          const take = 1 + Math.floor(random() * 6)
          const response = await resume(origin, id, cursor, format)
          expect(response.status).toBe(200)
          const events = await readEvents(response, (seen) => seen.length >= take)
          whole += text(events)
          const last = events.at(-1)
          if (last === undefined) return { text: whole, pieces }
          cursor = last.lastEventId
          if (events.length < take) return { text: whole, pieces }
        }
        throw new Error("the answer did not end within 500 pieces")
      }

      it("mid-answer and after the end, no text is lost or repeated (OpenAI and Anthropic views)", async () => {
        running = await startAI({
          openEngine: kind.open,
          models: { demo: { provider: "demo", timeToFirstTokenMs: 0, tokensPerSecond: 400, words: 120 } },
        })
        const expected = await demoAnswer(PROMPT, 120)
        let seed = 7
        const random = () => {
          seed = (seed * 1103515245 + 12345) % 2147483648
          return seed / 2147483648
        }
        const { id, response } = await start(running.origin, { model: "demo" })
        // The creating request is cut at once; resumes read the rest while it is still being written.
        await readEvents(response, (events) => events.length >= 3)
        const live = await readInPieces(running.origin, id, openaiText, random)
        expect(live.text).toBe(expected)
        expect(live.pieces).toBeGreaterThan(5)
        // After the end, many more random cuts, in both formats.
        for (let round = 0; round < 8; round++) {
          expect((await readInPieces(running.origin, id, openaiText, random)).text).toBe(expected)
          expect((await readInPieces(running.origin, id, anthropicText, random, "anthropic")).text).toBe(
            expected,
          )
        }
        const state = (await (await fetch(`${running.origin}/v1/generations/${id}`)).json()) as {
          status: string
          stats: { usage: { outputTokens: number }; timeToFirstTokenMs: number }
        }
        expect(state.status).toBe("done")
        expect(state.stats.usage.outputTokens).toBeGreaterThan(100)
      })

      it("renders the AI SDK's UI message stream, resumable like the others", async () => {
        running = await startAI({
          openEngine: kind.open,
          models: { demo: { ...FAST_DEMO, toolCall: { name: "lookup", arguments: '{"q":"logs"}' } } },
        })
        const { id, response } = await start(running.origin, { model: "demo" })
        await readEvents(response)
        const stream = await resume(running.origin, id, undefined, "ai-sdk")
        expect(stream.headers.get("x-vercel-ai-ui-message-stream")).toBe("v1")
        const events = await readEvents(stream)
        const parts = events.map((event) =>
          event.data === "[DONE]" ? { type: "[DONE]" } : JSON.parse(event.data),
        )
        const types = parts.map((part: { type: string }) => part.type)
        expect(types.slice(0, 3)).toEqual(["start", "start-step", "text-start"])
        expect(types.slice(-7)).toEqual([
          "text-end",
          "tool-input-start",
          "tool-input-delta",
          "tool-input-available",
          "finish-step",
          "finish",
          "[DONE]",
        ])
        expect(parts.find((part: { type: string }) => part.type === "tool-input-available")).toMatchObject({
          toolName: "lookup",
          input: { q: "logs" },
        })
        const uiText = (seen: readonly ServerSentEvent[]) =>
          seen
            .filter((event) => event.data !== "[DONE]")
            .map((event) => JSON.parse(event.data) as { type: string; delta?: string })
            .map((part) => (part.type === "text-delta" ? (part.delta ?? "") : ""))
            .join("")
        const expected = await demoAnswer(PROMPT)
        expect(uiText(events)).toBe(expected)
        let seed = 3
        const random = () => {
          seed = (seed * 1103515245 + 12345) % 2147483648
          return seed / 2147483648
        }
        expect((await readInPieces(running.origin, id, uiText, random, "ai-sdk")).text).toBe(expected)
      })

      it("each event carries an id, and a resume after the last id sends nothing more", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: FAST_DEMO } })
        const { id, response } = await start(running.origin, { model: "demo" })
        const events = await readEvents(response)
        expect(events.every((event) => event.lastEventId !== "")).toBe(true)
        expect(events.at(-1)?.data).toBe("[DONE]")
        const after = await readEvents(await resume(running.origin, id, events.at(-1)?.lastEventId))
        expect(after).toEqual([])
      })

      it("refuses a cursor that is not one of the generation's", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: FAST_DEMO } })
        const { id, response } = await start(running.origin, { model: "demo" })
        await readEvents(response)
        const refused = await resume(running.origin, id, "abcdefgh_0000000000000001")
        expect(refused.status).toBe(400)
        expect(await refused.json()).toMatchObject({ error: { param: "last_event_id" } })
      })
    })

    describe("cancel and disconnect", () => {
      /** An upstream that sends one delta, then stalls with the connection open. */
      function stallingUpstream(target: Upstream): void {
        target.answer = (response) => {
          response.writeHead(200, { "content-type": "text/event-stream" })
          response.write(openaiChunk({ content: "Thinking" }))
        }
      }

      it("cancel aborts the upstream request, and the generation ends cancelled with its numbers", async () => {
        upstream = await startUpstream()
        stallingUpstream(upstream)
        running = await startAI({
          openEngine: kind.open,
          models: { gpt: { provider: "openai", baseURL: upstream.baseURL } },
        })
        const response = await fetch(`${running.origin}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "gpt", stream: true, messages: [{ role: "user", content: "hi" }] }),
        })
        const id = response.headers.get("herald-generation-id") as string
        const reading = readEvents(response)
        const socketClosed = new Promise((resolve) => upstream?.lastSocket?.once("close", resolve))
        const cancelled = await fetch(`${running.origin}/v1/generations/${id}/cancel`, { method: "POST" })
        expect(cancelled.status).toBe(200)
        const state = (await cancelled.json()) as {
          status: string
          stats: { cancelLatencyMs: number; usage: unknown }
        }
        expect(state.status).toBe("cancelled")
        expect(state.stats.cancelLatencyMs).toBeGreaterThanOrEqual(0)
        expect(state.stats.usage).toMatchObject({ outputTokens: 1, source: "estimated" })
        await socketClosed
        const events = await reading
        expect(openaiText(events)).toBe("Thinking")
        expect(JSON.parse(events.at(-1)?.data ?? "{}")).toMatchObject({
          error: { type: "generation_cancelled" },
        })
        // The same error type in the Anthropic view of it, as an `event: error`.
        const anthropicEvents = await readEvents(
          await fetch(`${running.origin}/v1/generations/${id}/stream?format=anthropic`),
        )
        expect(anthropicEvents.at(-1)?.type).toBe("error")
        expect(JSON.parse(anthropicEvents.at(-1)?.data ?? "{}")).toMatchObject({
          type: "error",
          error: { type: "generation_cancelled" },
        })
      })

      it("Herald-On-Disconnect: cancel stops the model when the client leaves; by default it runs on", async () => {
        upstream = await startUpstream()
        stallingUpstream(upstream)
        running = await startAI({
          openEngine: kind.open,
          models: { gpt: { provider: "openai", baseURL: upstream.baseURL } },
        })
        const open = async (headers: Record<string, string>) => {
          const controller = new AbortController()
          const response = await fetch(`${running?.origin}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json", ...headers },
            body: JSON.stringify({ model: "gpt", stream: true, messages: [{ role: "user", content: "hi" }] }),
            signal: controller.signal,
          })
          await readEvents(response, (events) => events.length >= 2)
          const socket = upstream?.lastSocket
          const socketClosed = new Promise((resolve) => socket?.once("close", resolve))
          controller.abort()
          return { id: response.headers.get("herald-generation-id") as string, socketClosed }
        }
        const state = async (id: string) =>
          ((await (await fetch(`${running?.origin}/v1/generations/${id}`)).json()) as { status: string })
            .status
        const cancelled = await open({ "herald-on-disconnect": "cancel" })
        await cancelled.socketClosed
        await expect.poll(() => state(cancelled.id)).toBe("cancelled")

        const kept = await open({})
        await new Promise((resolve) => setTimeout(resolve, 100))
        expect(await state(kept.id)).toBe("running")
      })
    })

    describe("a dead node", () => {
      async function readToInterrupted(id: string, text: string): Promise<void> {
        const events = await readEvents(await fetch(`${running?.origin}/v1/generations/${id}/stream`))
        expect(openaiText(events)).toBe(text)
        expect(JSON.parse(events.at(-1)?.data ?? "{}")).toMatchObject({
          error: { type: "generation_interrupted" },
        })
      }

      it("its open generation is closed as interrupted by the node that reads it, fencing the old owner", async () => {
        running = await startAI({ openEngine: kind.open })
        const log = await openGenerationOf(
          running.engine,
          "AAAAAAAAAAAAAAAAAAAAAA",
          "dead-node",
          "Half an ans",
        )
        await readToInterrupted("AAAAAAAAAAAAAAAAAAAAAA", "Half an ans")
        const late = await running.engine.append(log, [{ data: "{}" }], { fence: { owner: "dead-node" } })
        expect(late.status).not.toBe("appended")
      })

      it("a reader following it from another node sees it closed as interrupted once that node's lease ran out", async () => {
        running = await startAI({ openEngine: kind.open, leaseMs: 150 })
        // The other node is alive when the reader comes, then stops renewing its lease.
        await running.engine.holdLease("dying-node", 300)
        await openGenerationOf(running.engine, "BBBBBBBBBBBBBBBBBBBBBB", "dying-node", "Half")
        const started = Date.now()
        await readToInterrupted("BBBBBBBBBBBBBBBBBBBBBB", "Half")
        // Not before the lease ran out.
        expect(Date.now() - started).toBeGreaterThanOrEqual(250)
      })
    })

    it("a stream still open when the server shuts down is told so in its format before it ends", async () => {
      running = await startAI({ openEngine: kind.open })
      await running.engine.holdLease("live-node", 60_000)
      await openGenerationOf(running.engine, "DDDDDDDDDDDDDDDDDDDDDD", "live-node", "Half")
      const response = await fetch(`${running.origin}/v1/generations/DDDDDDDDDDDDDDDDDDDDDD/stream`)
      const events: ServerSentEvent[] = []
      const parser = createParser({ onEvent: (event) => events.push(event) })
      const reader = (response.body as ReadableStream<Uint8Array>).getReader()
      const reading = (async () => {
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
          parser.feed(chunk.value)
      })()
      await expect.poll(() => openaiText(events), { timeout: 3000, interval: 10 }).toBe("Half")
      await running.ai.close({ deadlineMs: 200 })
      await reading
      expect(JSON.parse(events.at(-1)?.data ?? "{}")).toMatchObject({
        error: { type: "stream_interrupted", message: expect.stringContaining("shut down") },
      })
    })

    it("a log that goes away under its readers ends each format's stream with its error event, not a bare end", async () => {
      running = await startAI({ openEngine: kind.open })
      await running.engine.holdLease("live-node", 60_000)
      const log = await openGenerationOf(running.engine, "CCCCCCCCCCCCCCCCCCCCCC", "live-node", "Half")
      const url = `${running.origin}/v1/generations/CCCCCCCCCCCCCCCCCCCCCC/stream`
      // Their heads come at once: the delete may come before their readers follow the log or after.
      const [openaiStream, anthropicStream, aiSdkStream] = await Promise.all(
        ["openai", "anthropic", "ai-sdk"].map((format) => fetch(`${url}?format=${format}`)),
      )
      await running.engine.delete(log)
      const lastOf = async (response: Response | undefined) => {
        const events = await readEvents(response as Response)
        const last = events.at(-1)
        // It has no id of its own: a client resumes after what it was shown (from the start when
        // the log went before its reader followed it).
        expect(last?.lastEventId).toBe(events.at(-2)?.lastEventId ?? "")
        return { event: last?.type, data: JSON.parse(last?.data ?? "{}") }
      }
      expect(await lastOf(openaiStream)).toMatchObject({ data: { error: { type: "generation_lost" } } })
      expect(await lastOf(anthropicStream)).toMatchObject({
        event: "error",
        data: { type: "error", error: { type: "generation_lost" } },
      })
      expect(await lastOf(aiSdkStream)).toMatchObject({
        data: { type: "error", errorText: expect.stringContaining("gone from the store") },
      })
    })
  })
}

describe("a generation's log gone between its lookup and its reader", () => {
  it("ends the stream with the format's error event, not a bare end that reads as a whole answer", async () => {
    const engine = createMemoryEngine()
    const read = engine.read.bind(engine)
    // The follower's first read finds the log deleted since the request found it.
    engine.read = async (log, ...rest) => {
      if (log.startsWith("ai/gen/")) await engine.delete(log)
      return read(log, ...rest)
    }
    running = await startAI({ openEngine: () => engine })
    await engine.holdLease("live-node", 60_000)
    await openGenerationOf(engine, "DDDDDDDDDDDDDDDDDDDDDD", "live-node", "Half")
    const response = await fetch(`${running.origin}/v1/generations/DDDDDDDDDDDDDDDDDDDDDD/stream`)
    const events = await readEvents(response)
    expect(events.map((event) => JSON.parse(event.data))).toMatchObject([
      { error: { type: "generation_lost" } },
    ])
  })
})

// What an engine does not change, on the memory engine only: refusals before any generation,
// translation from upstreams, heartbeats before the first token, auth.
describe("the official SDKs before any generation", () => {
  it("lists the configured models in OpenAI's list format", async () => {
    running = await startAI()
    const models = await openai(running.origin).models.list()
    expect(models.data.map((model) => [model.id, model.owned_by])).toEqual([["demo", "demo"]])
  })

  it("answers an unknown model with a 404 in each endpoint's shape", async () => {
    running = await startAI()
    await expect(
      openai(running.origin).chat.completions.create({
        model: "nope",
        messages: [{ role: "user", content: "hi" }],
      }),
    ).rejects.toMatchObject({ status: 404, code: "model_not_found" })
    await expect(
      anthropic(running.origin).messages.create({
        model: "nope",
        max_tokens: 10,
        messages: [{ role: "user", content: "hi" }],
      }),
    ).rejects.toMatchObject({ status: 404, error: { type: "error", error: { type: "not_found_error" } } })
  })
})

describe("upstreams", () => {
  it("an OpenAI upstream answers an Anthropic client (translated both ways)", async () => {
    upstream = await startUpstream()
    upstream.answer = {
      chunks: [
        openaiChunk({ role: "assistant", content: "" }),
        openaiChunk({ content: "Hello" }),
        openaiChunk({ content: " world" }),
        openaiChunk({}, "stop"),
        `data: ${JSON.stringify({ id: "up", choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } })}\n\n`,
        "data: [DONE]\n\n",
      ],
    }
    running = await startAI({
      models: { gpt: { provider: "openai", baseURL: upstream.baseURL, model: "gpt-up" } },
    })
    const message = await anthropic(running.origin)
      .messages.stream({ model: "gpt", max_tokens: 50, messages: [{ role: "user", content: "hi" }] })
      .finalMessage()
    expect(message.content).toMatchObject([{ type: "text", text: "Hello world" }])
    expect(message.usage).toMatchObject({ input_tokens: 5, output_tokens: 2 })
    expect(upstream.requests[0]?.body.model).toBe("gpt-up")
  })

  it("an error after 200 becomes the view's error frame (the SDKs throw it)", async () => {
    upstream = await startUpstream()
    upstream.answer = { chunks: OPENAI_ERROR_AFTER_TEXT }
    running = await startAI({ models: { gpt: { provider: "openai", baseURL: upstream.baseURL } } })
    const stream = await openai(running.origin).chat.completions.create({
      model: "gpt",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    })
    let text = ""
    await expect(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ""
      })(),
    ).rejects.toThrow(/The server had an error/)
    expect(text).toBe("Partial")
    const events = anthropic(running.origin).messages.stream({
      model: "gpt",
      max_tokens: 50,
      messages: [{ role: "user", content: "hi" }],
    })
    await expect(events.finalMessage()).rejects.toThrow(/The server had an error/)
  })

  it("a refusal before the stream passes through with its status and retry-after, in each shape", async () => {
    upstream = await startUpstream()
    upstream.answer = (response) => {
      response.writeHead(429, { "content-type": "application/json", "retry-after": "7" })
      response.end(
        JSON.stringify({
          error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" },
        }),
      )
    }
    running = await startAI({ models: { gpt: { provider: "openai", baseURL: upstream.baseURL } } })
    const openaiRefused = await fetch(`${running.origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt", stream: true, messages: [{ role: "user", content: "hi" }] }),
    })
    expect(openaiRefused.status).toBe(429)
    expect(openaiRefused.headers.get("retry-after")).toBe("7")
    expect(await openaiRefused.json()).toMatchObject({ error: { message: /Rate limit reached/ } })
    await expect(
      anthropic(running.origin).messages.create({
        model: "gpt",
        max_tokens: 10,
        messages: [{ role: "user", content: "hi" }],
      }),
    ).rejects.toMatchObject({ status: 429, error: { type: "error", error: { type: "rate_limit_error" } } })
  })
})

describe("an upstream that refuses the server's key, or cannot be reached", () => {
  it("is a 502 naming the model and whose fix it is, never the upstream's 401 an SDK would take for its own token's; the log says why", async () => {
    upstream = await startUpstream()
    upstream.answer = (response) => {
      response.writeHead(401, { "content-type": "application/json" })
      response.end(
        JSON.stringify({ error: { message: "Incorrect API key provided", type: "invalid_request_error" } }),
      )
    }
    const logger = recordingLogger()
    running = await startAI({
      logger,
      models: {
        gpt: { provider: "openai", baseURL: upstream.baseURL },
        gone: { provider: "openai", baseURL: "http://127.0.0.1:1/v1" },
      },
    })
    // The SDK's own retries left on: a 502 it would retry twice, unless told not to.
    const retrying = new OpenAI({ baseURL: `${running.origin}/v1`, apiKey: "unused" })
    await expect(
      retrying.chat.completions.create({ model: "gpt", messages: [{ role: "user", content: "hi" }] }),
    ).rejects.toMatchObject({
      status: 502,
      error: {
        message:
          'The upstream of model "gpt" refused the key the server sent it (HTTP 401), which only the server\'s operator can fix: Incorrect API key provided',
      },
    })
    expect(upstream.requests).toHaveLength(1)
    await expect(
      anthropic(running.origin).messages.create({
        model: "gone",
        max_tokens: 10,
        messages: [{ role: "user", content: "hi" }],
      }),
    ).rejects.toMatchObject({
      status: 502,
      error: {
        error: {
          message: expect.stringMatching(
            /^The upstream of model "gone" could not be reached: connect ECONNREFUSED 127\.0\.0\.1:1\.$/,
          ),
        },
      },
    })
    await expect
      .poll(() =>
        logger.entries.filter((entry) => entry.level === "warn" && entry.message === "a generation failed"),
      )
      .toEqual([
        expect.objectContaining({
          fields: expect.objectContaining({ model: "gpt", error: expect.objectContaining({ status: 401 }) }),
        }),
        expect.objectContaining({ fields: expect.objectContaining({ model: "gone" }) }),
      ])
  })

  it("a 403, which is not always about the key (a moderation flag, a region), passes through as it came", async () => {
    upstream = await startUpstream()
    upstream.answer = (response) => {
      response.writeHead(403, { "content-type": "application/json" })
      response.end(JSON.stringify({ error: { message: "Your input was flagged", code: 403 } }))
    }
    running = await startAI({ models: { gpt: { provider: "openai", baseURL: upstream.baseURL } } })
    await expect(
      openai(running.origin).chat.completions.create({
        model: "gpt",
        messages: [{ role: "user", content: "hi" }],
      }),
    ).rejects.toMatchObject({
      status: 403,
      error: {
        message: 'The upstream of model "gpt" refused the request (HTTP 403): Your input was flagged',
      },
    })
  })
})

describe("a slow first token", () => {
  it("the head goes out after headWaitMs, and heartbeats keep the stream open until the first token", async () => {
    upstream = await startUpstream()
    let sendToken = (): void => {}
    upstream.answer = (response) => {
      response.writeHead(200, { "content-type": "text/event-stream" })
      // Nothing for now: the model is thinking.
      sendToken = () => response.end(`${openaiChunk({ content: "Late" }, "stop")}data: [DONE]\n\n`)
    }
    running = await startAI({
      models: { gpt: { provider: "openai", baseURL: upstream.baseURL } },
      headWaitMs: 20,
      heartbeatMs: 20,
    })
    const response = await fetch(`${running.origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt", stream: true, messages: [{ role: "user", content: "hi" }] }),
    })
    expect(response.status).toBe(200)
    const events: ServerSentEvent[] = []
    let commentsBeforeFirstEvent = 0
    const parser = createParser({
      onEvent: (event) => events.push(event),
      onComment: () => {
        if (events.length === 0) commentsBeforeFirstEvent++
      },
    })
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    const readUntil = async (enough: () => boolean): Promise<void> => {
      for (let reads = 0; reads < 100 && !enough(); reads++) {
        const { done, value } = await reader.read()
        if (done) return
        parser.feed(value)
      }
    }
    await readUntil(() => commentsBeforeFirstEvent >= 2)
    expect(events).toEqual([])
    sendToken()
    await readUntil(() => events.at(-1)?.data === "[DONE]")
    expect(commentsBeforeFirstEvent).toBeGreaterThanOrEqual(2)
    expect(openaiText(events)).toBe("Late")
  })
})

describe("a whole answer whose upstream refuses after the head wait", () => {
  /** Upstream answers `status` with an OpenAI error body once `headWaitMs` (20) passed. */
  async function refusingLate(status: number, headers: Record<string, string> = {}): Promise<TestAI> {
    upstream = await startUpstream()
    upstream.answer = (response) => {
      setTimeout(() => {
        response.writeHead(status, { "content-type": "application/json", ...headers })
        response.end(JSON.stringify({ error: { message: `Refused ${status}`, code: "refused_late" } }))
      }, 150)
    }
    return startAI({ models: { gpt: { provider: "openai", baseURL: upstream.baseURL } }, headWaitMs: 20 })
  }

  /** A non-streaming request to each create endpoint, and (with one Idempotency-Key) its replay. */
  async function askWhole(origin: string): Promise<[Response, Response, Response]> {
    const post = (path: string, body: Record<string, unknown>, key: string) =>
      fetch(`${origin}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": key },
        body: JSON.stringify({ model: "gpt", messages: [{ role: "user", content: "hi" }], ...body }),
      })
    return Promise.all([
      post("/v1/chat/completions", {}, "openai"),
      post("/v1/chat/completions", {}, "openai"),
      post("/v1/messages", { max_tokens: 10 }, "anthropic"),
    ])
  }

  it("a 401 is the 502 a fast one is, naming the model, with x-should-retry: false (a replay too), in each shape", async () => {
    running = await refusingLate(401)
    const [openaiRefused, replayed, anthropicRefused] = await askWhole(running.origin)
    const message =
      'The upstream of model "gpt" refused the key the server sent it (HTTP 401), which only the server\'s operator can fix: Refused 401'
    expect(openaiRefused.status).toBe(502)
    expect(openaiRefused.headers.get("x-should-retry")).toBe("false")
    expect(await openaiRefused.json()).toEqual({
      error: { message, type: "server_error", param: null, code: null },
    })
    expect(anthropicRefused.status).toBe(502)
    expect(anthropicRefused.headers.get("x-should-retry")).toBe("false")
    expect(await anthropicRefused.json()).toMatchObject({ type: "error", error: { message } })
    // The replay reads the refusal back from the log, where the upstream's body is not kept.
    expect(replayed.headers.get("idempotent-replayed")).toBe("true")
    expect(replayed.status).toBe(502)
    expect(replayed.headers.get("x-should-retry")).toBe("false")
    expect(await replayed.json()).toMatchObject({
      error: {
        message: expect.stringMatching(
          /^The upstream of model "gpt" refused the key the server sent it \(HTTP 401\)/,
        ),
      },
    })
  })

  it("a 429 passes with its retry-after, in each shape", async () => {
    running = await refusingLate(429, { "retry-after": "7" })
    const [openaiRefused, replayed, anthropicRefused] = await askWhole(running.origin)
    expect(openaiRefused.status).toBe(429)
    expect(openaiRefused.headers.get("retry-after")).toBe("7")
    expect(await openaiRefused.json()).toMatchObject({
      error: {
        message: 'The upstream of model "gpt" refused the request (HTTP 429): Refused 429',
        code: "refused_late",
      },
    })
    expect(anthropicRefused.status).toBe(429)
    expect(anthropicRefused.headers.get("retry-after")).toBe("7")
    expect(await anthropicRefused.json()).toMatchObject({
      type: "error",
      error: { type: "rate_limit_error" },
    })
    expect(replayed.headers.get("idempotent-replayed")).toBe("true")
    expect(replayed.status).toBe(429)
    // What the upstream said is kept in the log with the status, and said again.
    expect(await replayed.json()).toMatchObject({
      error: { message: expect.stringContaining("Refused 429") },
    })
  })
})

describe("auth", () => {
  it("401 without a token, 403 without the grant, x-api-key on /v1/messages, owners read their own", async () => {
    running = await startAI({ auth: true, models: { demo: FAST_DEMO } })
    const body = JSON.stringify({ model: "demo", messages: [{ role: "user", content: "hi" }] })
    const missing = await fetch(`${running.origin}/v1/chat/completions`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
    })
    expect(missing.status).toBe(401)
    expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer/)
    expect(await missing.json()).toMatchObject({ error: { type: "authentication_error" } })

    const readOnly = await aiToken(["read"])
    await expect(
      openai(running.origin, readOnly).chat.completions.create({
        model: "demo",
        messages: [{ role: "user", content: "hi" }],
      }),
    ).rejects.toMatchObject({ status: 403 })

    const alice = await aiToken(["generate"], { resources: ["/v1/generations/none"] })
    const message = await anthropic(running.origin, await aiToken(["generate"])).messages.create({
      model: "demo",
      max_tokens: 100,
      messages: [{ role: "user", content: "hi" }],
    })
    expect(message.type).toBe("message")

    const created = await fetch(`${running.origin}/v1/chat/completions`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", authorization: `Bearer ${await aiToken(["generate"])}` },
    })
    const id = created.headers.get("herald-generation-id") as string
    await created.text()
    // Alice created it: she holds `generate` only, so she may not read it, her own or not (rule 4 needs the action).
    const own = await fetch(`${running.origin}/v1/generations/${id}`, {
      headers: { authorization: `Bearer ${alice}` },
    })
    expect(own.status).toBe(404)
    const reader = await aiToken(["generate", "read"], { resources: ["/v1/generations/none"] })
    const mine = await fetch(`${running.origin}/v1/generations/${id}`, {
      headers: { authorization: `Bearer ${reader}` },
    })
    expect(mine.status).toBe(200)
    const bob = await aiToken(["read"], { subject: "urn:test:bob", resources: ["/v1/generations/none"] })
    const theirs = await fetch(`${running.origin}/v1/generations/${id}`, {
      headers: { authorization: `Bearer ${bob}` },
    })
    expect(theirs.status).toBe(404)
    const cancelOnly = await fetch(`${running.origin}/v1/generations/${id}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${reader}` },
    })
    expect(cancelOnly.status).toBe(403)
  })
})

describe("dev mode", () => {
  it("tells a local page of an origin it does not trust that its origin is what is refused, in the endpoint's shape", async () => {
    const engine = createMemoryEngine()
    const ai = createAIHandler({
      engine,
      heartbeatMs: 0,
      logger: recordingLogger(),
      auth: {
        verifier: undefined,
        trustLocalClients: true,
        localTrust: { trusts: (origin) => origin === "http://localhost:5173", hostname: "localhost" },
      },
    })
    const { server, url } = await listen((request, response) => void ai.handle(request, response))
    try {
      const ask = (origin: string) =>
        fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", origin },
          body: JSON.stringify({ model: "demo", messages: [{ role: "user", content: "hi" }] }),
        })
      const refused = await ask("http://localhost:4000")
      expect(refused.status).toBe(401)
      expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(
        "This server trusts clients on this machine without a token, but not pages of http://localhost:4000: start it with --cors-origins http://localhost:4000, or send a token.",
      )
      expect((await ask("http://localhost:5173")).status).toBe(200)
    } finally {
      await ai.close({ deadlineMs: 200 })
      await stop(server)
      await engine.close()
    }
  })
})

describe("a store that is away", () => {
  it("a request is answered with a 503 and Retry-After in its endpoint's shape, and the handler's promise resolves (http.createServer(ai.handle) stays up)", async () => {
    // Nothing listens on port 1: every call waits connectWaitMs for Redis, then fails.
    const engine = createRedisEngine({ url: "redis://127.0.0.1:1", connectWaitMs: 100 })
    const ai = createAIHandler({ engine, heartbeatMs: 0, logger: recordingLogger() })
    const handled: Promise<void>[] = []
    const { server, url } = await listen((request, response) => {
      handled.push(ai.handle(request, response))
    })
    try {
      const response = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "demo", stream: true, messages: [{ role: "user", content: "hi" }] }),
        signal: AbortSignal.timeout(5000),
      })
      expect(response.status).toBe(503)
      expect(response.headers.get("retry-after")).toBe("1")
      const openaiError = (await response.json()) as { error: { message: string } }
      expect(openaiError.error.message).toMatch(/redis engine is unavailable.*Idempotency-Key/)
      const anthropic = await fetch(`${url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "demo", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }),
        signal: AbortSignal.timeout(5000),
      })
      expect(anthropic.status).toBe(503)
      expect(((await anthropic.json()) as { type: string }).type).toBe("error")
      const state = await fetch(`${url}/v1/generations/${"a".repeat(22)}`, {
        signal: AbortSignal.timeout(5000),
      })
      expect(state.status).toBe(503)
      await state.body?.cancel()
      await expect(Promise.all(handled)).resolves.toBeDefined()
    } finally {
      await ai.close({ deadlineMs: 0 })
      await stop(server)
      await engine.close()
    }
  })

  it("the streams of a generation another node runs end with stream_interrupted in each format once the store has not answered for storeTimeoutMs", async () => {
    const { engine, setDown } = switchableEngine()
    running = await startAI({ openEngine: () => engine, storeTimeoutMs: 300, logger: recordingLogger() })
    await engine.holdLease("live-node", 60_000)
    await openGenerationOf(engine, "EEEEEEEEEEEEEEEEEEEEEE", "live-node", "Half")
    const url = `${running.origin}/v1/generations/EEEEEEEEEEEEEEEEEEEEEE/stream`
    const signal = AbortSignal.timeout(5_000)
    const streams = await Promise.all(
      ["openai", "anthropic", "ai-sdk"].map((format) => fetch(`${url}?format=${format}`, { signal })),
    )
    const ends = streams.map(async (response) => {
      const events = await readEvents(response)
      return JSON.parse(events.at(-1)?.data ?? "{}") as unknown
    })
    // Its followers are live, on a feed that hears nothing from a store away.
    await new Promise((resolve) => setTimeout(resolve, 100))
    setDown(true)
    const away = performance.now()
    try {
      const [openaiEnd, anthropicEnd, aiSdkEnd] = await Promise.all(ends)
      expect(performance.now() - away).toBeGreaterThanOrEqual(290)
      const interrupted = { error: { type: "stream_interrupted", message: STREAM_INTERRUPTED.stopped } }
      expect(openaiEnd).toMatchObject(interrupted)
      expect(anthropicEnd).toMatchObject({ type: "error", ...interrupted })
      expect(aiSdkEnd).toMatchObject({ type: "error", errorText: STREAM_INTERRUPTED.stopped })
    } finally {
      setDown(false)
    }
  })

  it("warns once for a burst of requests it refuses, not once (or twice) per request", async () => {
    const { engine, setDown } = switchableEngine()
    // As on Redis: the undo of a failed start is refused as well.
    const remove = engine.delete.bind(engine)
    let down = false
    engine.delete = (log) => (down ? engine.head(log).then(() => remove(log)) : remove(log))
    const logger = recordingLogger()
    const ai = createAIHandler({ engine, heartbeatMs: 0, logger })
    const { server, url } = await listen((request, response) => void ai.handle(request, response))
    try {
      setDown(true)
      down = true
      for (let request = 0; request < 5; request++) {
        const response = await fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "demo", messages: [{ role: "user", content: "hi" }] }),
        })
        expect(response.status).toBe(503)
        await response.body?.cancel()
      }
      // One line each now; the next ones are counted into one every 30 s (logger.test.ts).
      expect(logger.entries.filter((entry) => entry.level === "warn").map((entry) => entry.message)).toEqual([
        "could not undo a generation's failed start",
        "the AI endpoints' engine is unavailable",
      ])
    } finally {
      setDown(false)
      down = false
      await ai.close({ deadlineMs: 200 })
      await stop(server)
      await engine.close()
    }
  })
})
