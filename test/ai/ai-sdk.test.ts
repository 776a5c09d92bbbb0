import {
  AbstractChat,
  type ChatInit,
  type ChatState,
  type ChatTransport,
  DefaultChatTransport,
  lastAssistantMessageIsCompleteWithToolCalls,
  type UIMessage,
} from "ai"
import { afterEach, describe, expect, it } from "vitest"
import { HeraldChatTransport } from "../../src/ai/ai-sdk/index.js"
import { demoProvider } from "../../src/ai/demo.js"
import { generationLog } from "../../src/ai/generation-id.js"
import { formatPosition, parsePosition } from "../../src/engine/position.js"
import { createParser, type ServerSentEvent } from "../../src/protocol/index.js"
import { readEvents, startAI, startNodes, type TestAI } from "./ai-server.js"
import { testEngines } from "./engines.js"
import { finalUIMessage } from "./ui-message-stream.js"
import { collect, openaiChunk, startUpstream } from "./upstream.js"

const PROMPT = "Explain how a reload resumes a streamed answer"
const FAST = { provider: "demo" as const, timeToFirstTokenMs: 0, tokensPerSecond: Number.POSITIVE_INFINITY }
/** Slow enough to be cut in the middle: about 80 tokens over a second. */
const PACED = { provider: "demo" as const, timeToFirstTokenMs: 0, tokensPerSecond: 80 }
/** A second and a half before its first token, which Herald holds the response's head for (headWaitMs: 2 s). */
const LATE = { provider: "demo" as const, timeToFirstTokenMs: 1500, tokensPerSecond: 80 }
/** Slower: still running after a node's shutdown, which waits half a second for its streams to end. */
const SLOW = { provider: "demo" as const, timeToFirstTokenMs: 0, tokensPerSecond: 30 }

let running: TestAI | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

/** The demo model's whole answer to `prompt`, straight from the provider. */
async function demoAnswer(prompt: string): Promise<string> {
  const entries = await collect(
    demoProvider({ timeToFirstTokenMs: 0, tokensPerSecond: Number.POSITIVE_INFINITY }).stream(
      { model: "demo", messages: [{ role: "user", content: [{ type: "text", text: prompt }] }] },
      new AbortController().signal,
    ),
  )
  return entries.map((entry) => (entry.type === "text-delta" ? entry.text : "")).join("")
}

/** `AbstractChat` with its state in a plain object: what `useChat` runs, without React. */
class TestChat extends AbstractChat<UIMessage> {
  constructor(init: ChatInit<UIMessage>) {
    const state: ChatState<UIMessage> = {
      status: "ready",
      error: undefined,
      messages: [...(init.messages ?? [])],
      pushMessage: (message) => {
        state.messages = [...state.messages, message]
      },
      popMessage: () => {
        state.messages = state.messages.slice(0, -1)
      },
      replaceMessage: (index, message) => {
        state.messages = state.messages.map((each, at) => (at === index ? message : each))
      },
      snapshot: (thing) => structuredClone(thing),
    }
    super({ ...init, state })
  }
}

/**
 * A chat whose page runs the weather tool: it answers every call with 4 °C, and sends the output
 * on by itself once the last assistant message's calls all have theirs.
 */
function weatherToolChat(id: string, transport: ChatTransport<UIMessage>): TestChat {
  const chat: TestChat = new TestChat({
    id,
    transport,
    sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithToolCalls,
    onToolCall: ({ toolCall }) => {
      void chat.addToolOutput({
        tool: "weather",
        toolCallId: toolCall.toolCallId,
        output: { celsius: 4 },
      })
    },
  })
  return chat
}

function userMessage(text: string): UIMessage {
  return { id: "user-1", role: "user", parts: [{ type: "text", text }] }
}

/** The visible text of a message: its text parts joined. */
function textOf(message: UIMessage | undefined): string {
  return (message?.parts ?? []).map((part) => (part.type === "text" ? part.text : "")).join("")
}

/** What a fetch saw of one request and its response. */
interface Exchange {
  readonly method: string
  readonly url: string
  readonly headers: Headers
  readonly status: number
  readonly responseHeaders: Headers
  /** The response's events, read from a copy of its body. */
  readonly events: Promise<ServerSentEvent[]>
}

/**
 * A `fetch` that records every exchange and, while `cut.after` is set, cuts the next response's
 * body after that many reads (the connection drops mid-answer).
 */
function recordingFetch(cut: { after?: number }) {
  const exchanges: Exchange[] = []
  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init)
    const reads = cut.after
    cut.after = undefined
    const body =
      reads === undefined || response.body === null ? response.body : cutAfter(response.body, reads)
    // The copy sees what the client sees.
    const [mine, theirs] = body === null ? [null, null] : body.tee()
    exchanges.push({
      method: init?.method ?? "GET",
      url: String(input),
      headers: new Headers(init?.headers),
      status: response.status,
      responseHeaders: response.headers,
      events: eventsOf(mine),
    })
    return new Response(theirs, { status: response.status, headers: response.headers })
  }
  return { fetch: fetchFn as typeof fetch, exchanges }
}

async function eventsOf(body: ReadableStream<Uint8Array> | null): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = []
  if (body === null) return events
  const parser = createParser({ onEvent: (event) => events.push(event) })
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) parser.feed(chunk)
  } catch {
    // The copy of a cut response ends with it.
  }
  return events
}

/**
 * `body` until `reads` chunks carrying events went through, then an error, as when the connection
 * drops. Chunks of fields alone (the `retry:` sent with the head) are passed on and not counted.
 */
function cutAfter(body: ReadableStream<Uint8Array>, reads: number): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let count = 0
  return new ReadableStream({
    async pull(controller) {
      if (count === reads) {
        await reader.cancel()
        controller.error(new Error("connection reset by peer"))
        return
      }
      const { done, value } = await reader.read()
      if (done) {
        controller.close()
        return
      }
      if (decoder.decode(value, { stream: true }).includes("data:")) count++
      controller.enqueue(value)
    },
  })
}

/** A page posts chat `chatId`'s question and goes away (a reload) once the answer started; its id. */
async function postAndLeave(api: string, chatId: string): Promise<string> {
  const response = await fetch(api, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id: chatId, messages: [userMessage(PROMPT)], trigger: "submit-message" }),
  })
  await (response.body as ReadableStream<Uint8Array>).cancel()
  return response.headers.get("herald-generation-id") as string
}

/** A reloaded page: what the app kept (the question), a new Herald transport on `storage`, and a resume. */
async function resumeReloaded(
  api: string,
  chatId: string,
  storage: ReturnType<typeof pageStorage>["storage"] | null,
) {
  const recorder = recordingFetch({})
  const chat = new TestChat({
    id: chatId,
    messages: [userMessage(PROMPT)],
    transport: new HeraldChatTransport({ api, fetch: recorder.fetch, storage }),
  })
  await chat.resumeStream()
  return { chat, recorder }
}

/** A reloaded page of chat `chatId`, with no storage, finds no answer to resume (204) and shows the question alone. */
async function expectNothingToResume(api: string, chatId: string): Promise<void> {
  const { chat, recorder } = await resumeReloaded(api, chatId, null)
  expect(recorder.exchanges[0]?.status).toBe(204)
  expect(chat.messages).toHaveLength(1)
}

/** The status of generation `id` on the server at `origin`. */
async function generationStatus(origin: string, id: string): Promise<string> {
  return ((await (await fetch(`${origin}/v1/generations/${id}`)).json()) as { status: string }).status
}

/**
 * The second exchange resumed the first from its last event's id: Herald sent what follows only
 * (no `start`, the text after `shown`), and `chat` shows the whole answer once, in one text part
 * of one message.
 */
async function expectResumedFromCursor(
  exchanges: readonly Exchange[],
  chat: TestChat,
  shown: string,
  full: string,
): Promise<void> {
  const [cut, resumed] = exchanges as [Exchange, Exchange]
  expect(resumed.headers.get("last-event-id")).toBe((await cut.events).at(-1)?.lastEventId)
  const rest = await resumed.events
  expect(rest.some((event) => event.data.includes('"type":"start"'))).toBe(false)
  expect(shown + textOfEvents(rest)).toBe(full)
  expect(chat.messages.map((message) => message.role)).toEqual(["user", "assistant"])
  expect(textOf(chat.messages[1])).toBe(full)
  expect(chat.messages[1]?.parts.filter((part) => part.type === "text")).toHaveLength(1)
}

/** A page's `sessionStorage` in a Map (`kept`): what a reload leaves to the next page. */
function pageStorage() {
  const kept = new Map<string, string>()
  const storage = {
    getItem: (key: string) => kept.get(key) ?? null,
    setItem: (key: string, value: string) => void kept.set(key, value),
    removeItem: (key: string) => void kept.delete(key),
  }
  return { kept, storage }
}

/** The text the UI message chunks of `events` carry. */
function textOfEvents(events: readonly ServerSentEvent[]): string {
  let text = ""
  for (const event of events) {
    if (event.data === "[DONE]") continue
    const chunk = JSON.parse(event.data) as { type: string; delta?: string }
    if (chunk.type === "text-delta") text += chunk.delta ?? ""
  }
  return text
}

const ENGINES = await testEngines("ai-sdk")

for (const kind of ENGINES) {
  // Every chat below writes its generation and the chat's pointer to it through the engine.
  describe.skipIf(!kind.available)(`on the ${kind.name} engine`, () => {
    describe("the AI SDK backend with the ai package as client", () => {
      it("useChat's stock transport posts a chat and reads the UI message stream, with the headers the SDK expects", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: FAST } })
        const recorder = recordingFetch({})
        const chat = new TestChat({
          id: "chat-stock",
          transport: new DefaultChatTransport({
            api: `${running.origin}/v1/ai-sdk/chat`,
            fetch: recorder.fetch,
          }),
        })
        await chat.sendMessage({ text: PROMPT })
        expect(chat.status).toBe("ready")
        expect(chat.messages.map((message) => message.role)).toEqual(["user", "assistant"])
        const answer = chat.messages[1]
        expect(textOf(answer)).toBe(await demoAnswer(PROMPT))
        const post = recorder.exchanges[0] as Exchange
        expect(post.status).toBe(200)
        expect(post.responseHeaders.get("x-vercel-ai-ui-message-stream")).toBe("v1")
        expect(post.responseHeaders.get("content-type")).toMatch(/^text\/event-stream/)
        const id = post.responseHeaders.get("herald-generation-id")
        expect(answer?.id).toBe(`msg_${id}`)
        // Every event carries a cursor; the stock parser ignores it.
        const events = await post.events
        expect(events.every((event) => event.lastEventId !== "")).toBe(true)
        expect(events.at(-1)?.data).toBe("[DONE]")
      })

      it("useChat's onFinish says why the answer ended: stop, or tool-calls when the model calls a tool", async () => {
        running = await startAI({
          openEngine: kind.open,
          models: { demo: FAST, tools: { ...FAST, toolCall: { name: "lookup", arguments: '{"q":"sse"}' } } },
        })
        const reasons: (string | undefined)[] = []
        for (const model of ["demo", "tools"]) {
          const chat = new TestChat({
            id: `chat-finish-${model}`,
            transport: new DefaultChatTransport({ api: `${running.origin}/v1/ai-sdk/chat`, body: { model } }),
            onFinish: ({ finishReason }) => void reasons.push(finishReason),
          })
          await chat.sendMessage({ text: PROMPT })
        }
        expect(reasons).toEqual(["stop", "tool-calls"])
      })

      it("the page's tool loop stays in one assistant message: the answer after the output continues it, with its id (both transports, and a replay)", async () => {
        const upstream = await startUpstream()
        try {
          running = await startAI({
            openEngine: kind.open,
            models: { up: { provider: "openai", baseURL: upstream.baseURL } },
          })
          const origin = running.origin
          // A question: a few words and a call of the tool; its output: the answer; the next question: a word.
          upstream.answer = (response) => {
            const messages = upstream.requests.at(-1)?.body.messages as { role: string; content: unknown }[]
            const last = messages.at(-1)
            const call = {
              index: 0,
              id: `call_${upstream.requests.length}`,
              type: "function",
              function: { name: "weather", arguments: '{"city":"Oslo"}' },
            }
            const chunks =
              last?.role === "tool"
                ? [
                    openaiChunk({ role: "assistant", content: "It is 4 °C in Oslo." }),
                    openaiChunk({}, "stop"),
                  ]
                : last?.content === "And tomorrow?"
                  ? [openaiChunk({ role: "assistant", content: "Colder." }), openaiChunk({}, "stop")]
                  : [
                      openaiChunk({ role: "assistant", content: "Let me check. " }),
                      openaiChunk({ tool_calls: [call] }),
                      openaiChunk({}, "tool_calls"),
                    ]
            response.writeHead(200, { "content-type": "text/event-stream" })
            response.end(`${chunks.join("")}data: [DONE]\n\n`)
          }
          const inputSchema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
          for (const Transport of [HeraldChatTransport, DefaultChatTransport]) {
            const recorder = recordingFetch({})
            const posted: { messages: UIMessage[] }[] = []
            const fetchFn = (input: RequestInfo | URL, init?: RequestInit) => {
              if (init?.method === "POST" && String(input).endsWith("/chat"))
                posted.push(JSON.parse(String(init.body)) as { messages: UIMessage[] })
              return recorder.fetch(input, init)
            }
            const chatId = `chat-tool-loop-${Transport.name}`
            const chat = weatherToolChat(
              chatId,
              new Transport({
                api: `${origin}/v1/ai-sdk/chat`,
                fetch: fetchFn as typeof fetch,
                body: { model: "up", tools: { weather: { inputSchema } } },
              }),
            )
            await chat.sendMessage({ text: "Weather in Oslo?" })
            await expect
              .poll(() => chat.status === "ready" && textOf(chat.messages.at(-1)).includes("4 °C"), {
                timeout: 5000,
              })
              .toBe(true)
            // One assistant message holds both steps, each once.
            expect(chat.messages.map((message) => message.role)).toEqual(["user", "assistant"])
            const answer = chat.messages[1] as UIMessage
            expect(answer.parts.map((part) => part.type)).toEqual([
              "step-start",
              "text",
              "tool-weather",
              "step-start",
              "text",
            ])
            expect(textOf(answer)).toBe("Let me check. It is 4 °C in Oslo.")
            // The first answer is a new message (msg_<generation>); the second names the message it continues.
            const [first, second] = recorder.exchanges as [Exchange, Exchange]
            const start = async (exchange: Exchange) => JSON.parse((await exchange.events)[0]?.data ?? "{}")
            expect(await start(first)).toEqual({
              type: "start",
              messageId: `msg_${first.responseHeaders.get("herald-generation-id")}`,
            })
            expect(posted[1]?.messages.at(-1)).toMatchObject({ id: answer.id, role: "assistant" })
            expect(await start(second)).toEqual({ type: "start", messageId: answer.id })
            // Stored with the generation: a replay of the second answer names the same message.
            const secondId = second.responseHeaders.get("herald-generation-id")
            const replay = await fetch(`${origin}/v1/generations/${secondId}/stream?format=ai-sdk`)
            expect((await finalUIMessage(replay))?.id).toBe(answer.id)

            // The next question carries the conversation once: the model sees the call once.
            await chat.sendMessage({ text: "And tomorrow?" })
            await expect.poll(() => chat.status, { timeout: 5000 }).toBe("ready")
            expect(posted).toHaveLength(3)
            expect(posted[2]?.messages.map((message) => message.role)).toEqual(["user", "assistant", "user"])
            expect(chat.messages.map((message) => message.role)).toEqual([
              "user",
              "assistant",
              "user",
              "assistant",
            ])
            const sent = upstream.requests.at(-1)?.body.messages as { role: string; tool_calls?: unknown[] }[]
            expect(sent.map((message) => message.role)).toEqual([
              "user",
              "assistant",
              "tool",
              "assistant",
              "user",
            ])
            expect(sent.filter((message) => message.tool_calls !== undefined)).toHaveLength(1)
          }
        } finally {
          await upstream.close()
        }
      })

      it("readUIMessageStream reads Herald's view of a generation made elsewhere: text, a tool call, the end", async () => {
        running = await startAI({
          openEngine: kind.open,
          models: { demo: FAST, tools: { ...FAST, toolCall: { name: "lookup", arguments: '{"q":"sse"}' } } },
        })
        const created = await fetch(`${running.origin}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            model: "tools",
            stream: true,
            messages: [{ role: "user", content: PROMPT }],
          }),
        })
        const id = created.headers.get("herald-generation-id")
        await created.text()
        const response = await fetch(`${running.origin}/v1/generations/${id}/stream?format=ai-sdk`)
        expect(response.headers.get("x-vercel-ai-ui-message-stream")).toBe("v1")
        const last = await finalUIMessage(response)
        expect(last?.id).toBe(`msg_${id}`)
        expect(textOf(last)).toBe(await demoAnswer(PROMPT))
        const tool = last?.parts.find((part) => part.type === "tool-lookup") as
          | { state: string; input: unknown; toolCallId: string }
          | undefined
        expect(tool?.state).toBe("input-available")
        expect(tool?.input).toEqual({ q: "sse" })
      })

      it("the stock transport resumes a reloaded chat from the start of the running answer, and gets 204 once it ended", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: PACED } })
        const api = `${running.origin}/v1/ai-sdk/chat`
        // The first page: posts, reads a little, and goes away (a reload).
        const first = await fetch(api, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            id: "chat-reload",
            messages: [userMessage(PROMPT)],
            trigger: "submit-message",
          }),
        })
        const reader = (first.body as ReadableStream<Uint8Array>).getReader()
        await reader.read()
        await reader.cancel()
        // The reloaded page has what the app kept (the question) and asks to resume.
        const recorder = recordingFetch({})
        const chat = new TestChat({
          id: "chat-reload",
          messages: [userMessage(PROMPT)],
          transport: new DefaultChatTransport({ api, fetch: recorder.fetch }),
        })
        await chat.resumeStream()
        const resumed = recorder.exchanges[0] as Exchange
        expect(resumed.method).toBe("GET")
        expect(resumed.url).toBe(`${api}/chat-reload/stream`)
        expect(resumed.status).toBe(200)
        expect(JSON.parse((await resumed.events)[0]?.data ?? "{}").type).toBe("start")
        expect(chat.messages.map((message) => message.role)).toEqual(["user", "assistant"])
        expect(textOf(chat.messages[1])).toBe(await demoAnswer(PROMPT))

        // Ended: nothing to resume for a client without a cursor.
        const again = new TestChat({
          id: "chat-reload",
          messages: [userMessage(PROMPT)],
          transport: new DefaultChatTransport({ api, fetch: recorder.fetch }),
        })
        await again.resumeStream()
        expect(recorder.exchanges[1]?.status).toBe(204)
        expect(again.status).toBe("ready")
        expect(again.messages).toHaveLength(1)
        // A chat never seen is nothing to resume either.
        expect((await fetch(`${api}/no-such-chat/stream`)).status).toBe(204)
      })

      it("Herald's transport resumes a cut answer from its cursor: the rest only, no text twice", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: PACED } })
        const cut: { after?: number } = { after: 4 }
        const recorder = recordingFetch(cut)
        const errors: Error[] = []
        const chat = new TestChat({
          id: "chat-cut",
          transport: new HeraldChatTransport({
            api: `${running.origin}/v1/ai-sdk/chat`,
            fetch: recorder.fetch,
          }),
          onError: (error) => errors.push(error),
        })
        await chat.sendMessage({ text: PROMPT })
        // The cut is a disconnect to the SDK, with part of the answer shown.
        expect(chat.status).toBe("error")
        expect(errors[0]).toBeInstanceOf(TypeError)
        const shown = textOf(chat.messages[1])
        const full = await demoAnswer(PROMPT)
        expect(shown.length).toBeGreaterThan(0)
        expect(full.startsWith(shown)).toBe(true)
        expect(shown.length).toBeLessThan(full.length)

        await chat.resumeStream()
        expect(chat.status).toBe("ready")
        const resumed = recorder.exchanges[1] as Exchange
        expect(resumed.method).toBe("GET")
        await expectResumedFromCursor(recorder.exchanges, chat, shown, full)
      })

      it("Herald's transport resumes an answer whose stream's node shut down (a rolling deploy) from its cursor on another node, as a cut", async () => {
        const engine = kind.open()
        const cluster = await startNodes([engine, kind.nodeBeside(engine)], {
          heartbeatMs: 0,
          flushMs: 5,
          models: { demo: SLOW },
        })
        try {
          const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]]
          // The answer runs on node a; the page that asked for it reloaded.
          await postAndLeave(`${a.origin}/v1/ai-sdk/chat`, "chat-deploy")
          // The reloaded page resumes through a balancer, which sends it to node b.
          let node = b.origin
          const recorder = recordingFetch({})
          const balanced = (input: RequestInfo | URL, init?: RequestInit) =>
            recorder.fetch(String(input).replace(/^http:\/\/[^/]+/, node), init)
          const errors: Error[] = []
          const chat = new TestChat({
            id: "chat-deploy",
            messages: [userMessage(PROMPT)],
            transport: new HeraldChatTransport({
              api: `${a.origin}/v1/ai-sdk/chat`,
              fetch: balanced,
              storage: null,
            }),
            onError: (error) => errors.push(error),
          })
          const resumed = chat.resumeStream()
          await expect.poll(() => textOf(chat.messages[1]).length, { timeout: 5000 }).toBeGreaterThan(0)
          // Node b shuts down: its stream ends with stream_interrupted, the answer runs on on a.
          await b.ai.close({ deadlineMs: 200 })
          await resumed
          const events = await (recorder.exchanges[0] as Exchange).events
          expect(JSON.parse(events.at(-1)?.data ?? "{}")).toMatchObject({
            type: "error",
            errorText: expect.stringContaining("shut down"),
          })
          // A disconnect to the SDK, not the answer's error, with part of the answer shown.
          expect(chat.status).toBe("error")
          expect(errors).toHaveLength(1)
          expect(errors[0]).toBeInstanceOf(TypeError)
          expect(chat.messages[1]?.parts.some((part) => (part.type as string) === "error")).toBe(false)
          const shown = textOf(chat.messages[1])
          const full = await demoAnswer(PROMPT)
          expect(full.startsWith(shown)).toBe(true)
          expect(shown.length).toBeLessThan(full.length)

          // The balancer sends the resume to node a: the rest only, the whole answer once.
          node = a.origin
          await chat.resumeStream()
          expect(chat.status).toBe("ready")
          await expectResumedFromCursor(recorder.exchanges, chat, shown, full)
        } finally {
          await cluster.close()
        }
      })

      it("Herald's transport resumes a reloaded page from the cursor kept in its storage, and forgets it once the answer ended", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: PACED } })
        const api = `${running.origin}/v1/ai-sdk/chat`
        // The page's sessionStorage, which outlives the reload.
        const { kept, storage } = pageStorage()
        const recorder = recordingFetch({ after: 4 })
        const before = new TestChat({
          id: "chat-reloaded",
          transport: new HeraldChatTransport({ api, fetch: recorder.fetch, storage }),
        })
        await before.sendMessage({ text: PROMPT })
        expect(before.status).toBe("error")
        const shown = textOf(before.messages[1])
        const full = await demoAnswer(PROMPT)
        expect(shown.length).toBeGreaterThan(0)
        expect(shown.length).toBeLessThan(full.length)

        // The reloaded page: a new transport and chat, with what the app kept (the question).
        const after = new TestChat({
          id: "chat-reloaded",
          messages: [userMessage(PROMPT)],
          transport: new HeraldChatTransport({ api, fetch: recorder.fetch, storage }),
        })
        await after.resumeStream()
        expect(after.status).toBe("ready")
        await expectResumedFromCursor(recorder.exchanges, after, shown, full)
        expect([...kept.keys()]).toEqual([])
      })

      it("Herald's transport, resuming from a kept cursor of events the server lost (410), shows the answer as kept from its start, once", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: PACED } })
        const api = `${running.origin}/v1/ai-sdk/chat`
        const { kept, storage } = pageStorage()
        const recorder = recordingFetch({ after: 4 })
        const before = new TestChat({
          id: "chat-lost-cursor",
          transport: new HeraldChatTransport({ api, fetch: recorder.fetch, storage }),
        })
        await before.sendMessage({ text: PROMPT })
        expect(before.status).toBe("error")
        // What a lossy failover leaves: a kept cursor past what the log holds.
        const [key, value] = [...kept.entries()][0] as [string, string]
        const saved = JSON.parse(value) as { cursor: string }
        const at = parsePosition(saved.cursor.split(".")[0] as string)
        if (at === undefined) throw new Error(`no position in ${saved.cursor}`)
        kept.set(key, JSON.stringify({ ...saved, cursor: formatPosition(at.epoch, at.seq + 500) }))

        const after = new TestChat({
          id: "chat-lost-cursor",
          messages: [userMessage(PROMPT)],
          transport: new HeraldChatTransport({ api, fetch: recorder.fetch, storage }),
        })
        await after.resumeStream()
        expect(after.status).toBe("ready")
        const resumes = recorder.exchanges.filter((exchange) => exchange.method === "GET")
        expect(resumes.map((exchange) => exchange.status)).toEqual([410, 200])
        expect(textOf(after.messages[1])).toBe(await demoAnswer(PROMPT))
      })

      it("Herald's transport resumes after the answer ended, from its cursor", async () => {
        running = await startAI({
          openEngine: kind.open,
          models: { demo: FAST },
          disconnectGraceMs: Number.POSITIVE_INFINITY,
        })
        const recorder = recordingFetch({ after: 1 })
        const chat = new TestChat({
          id: "chat-late",
          transport: new HeraldChatTransport({
            api: `${running.origin}/v1/ai-sdk/chat`,
            fetch: recorder.fetch,
          }),
        })
        await chat.sendMessage({ text: PROMPT })
        expect(chat.status).toBe("error")
        const id = (recorder.exchanges[0] as Exchange).responseHeaders.get("herald-generation-id")
        // Wait for the end: the generation finishes with nobody reading it.
        for (let tries = 0; tries < 100; tries++) {
          const state = (await (await fetch(`${running.origin}/v1/generations/${id}`)).json()) as {
            status: string
          }
          if (state.status !== "running") break
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        await chat.resumeStream()
        expect(chat.status).toBe("ready")
        expect(recorder.exchanges[1]?.status).toBe(200)
        expect(textOf(chat.messages[1])).toBe(await demoAnswer(PROMPT))
      })

      it("a cursor of the answer's events that its log lost (a store failover) is a 410, where another answer's cursor finds nothing to resume", async () => {
        running = await startAI({
          openEngine: kind.open,
          models: { demo: FAST },
          disconnectGraceMs: Number.POSITIVE_INFINITY,
        })
        const origin = running.origin
        const recorder = recordingFetch({ after: 1 })
        const chat = new TestChat({
          id: "chat-lost",
          transport: new HeraldChatTransport({ api: `${origin}/v1/ai-sdk/chat`, fetch: recorder.fetch }),
        })
        await chat.sendMessage({ text: PROMPT })
        const id = (recorder.exchanges[0] as Exchange).responseHeaders.get("herald-generation-id")
        const ended = await fetch(`${origin}/v1/generations/${id}/stream?format=ai-sdk`)
        const lastId = (await readEvents(ended)).at(-1)?.lastEventId as string
        const last = parsePosition(lastId)
        if (last === undefined) throw new Error(`the last event's id ${lastId} is no position`)
        const resume = (cursor: string) =>
          fetch(`${origin}/v1/ai-sdk/chat/chat-lost/stream`, { headers: { "last-event-id": cursor } })
        const lost = await resume(formatPosition(last.epoch, last.seq + 2))
        expect(lost.status).toBe(410)
        expect(JSON.stringify(await lost.json())).toContain("were lost")
        // The answer ended: another answer's cursor has nothing to resume.
        expect((await resume(formatPosition("zzzzzzzz", last.seq + 2))).status).toBe(204)
      })

      it("Herald's transport cancels the generation on stop; the stock one only disconnects", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: PACED } })
        const origin = running.origin
        const stopMidAnswer = async (transport: DefaultChatTransport<UIMessage>, chatId: string) => {
          const chat = new TestChat({ id: chatId, transport })
          const sent = chat.sendMessage({ text: PROMPT })
          // Stop once some text showed.
          await expect.poll(() => textOf(chat.messages[1]).length, { timeout: 5000 }).toBeGreaterThan(0)
          await chat.stop()
          await sent
        }
        const headersSeen: Headers[] = []
        const watching = (input: RequestInfo | URL, init?: RequestInit) => {
          if (String(input).endsWith("/cancel")) headersSeen.push(new Headers(init?.headers))
          return fetch(input, init)
        }
        const ids: string[] = []
        const recordId = async (input: RequestInfo | URL, init?: RequestInit) => {
          const response = await watching(input, init)
          const id = response.headers.get("herald-generation-id")
          if (id !== null) ids.push(id)
          return response
        }
        const api = `${origin}/v1/ai-sdk/chat`
        await stopMidAnswer(
          new HeraldChatTransport({ api, fetch: recordId, headers: { "x-app": "chat-test" } }),
          "chat-stop",
        )
        await expect
          .poll(() => generationStatus(origin, ids[0] as string), { timeout: 2000 })
          .toBe("cancelled")
        expect(headersSeen[0]?.get("x-app")).toBe("chat-test")

        await stopMidAnswer(new DefaultChatTransport({ api, fetch: recordId }), "chat-stop-stock")
        await new Promise((resolve) => setTimeout(resolve, 200))
        // The default disconnect grace (30 s) keeps it running: nothing told the server to stop.
        expect(await generationStatus(origin, ids[1] as string)).toBe("running")
        expect(headersSeen).toHaveLength(1)
      })

      it("Herald's transport cancels a resumed answer on stop too, and a reload then finds nothing to resume", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: PACED } })
        const origin = running.origin
        const api = `${origin}/v1/ai-sdk/chat`
        const id = await postAndLeave(api, "chat-stop-resumed")
        const chat = new TestChat({
          id: "chat-stop-resumed",
          messages: [userMessage(PROMPT)],
          transport: new HeraldChatTransport({ api, storage: null }),
        })
        const resumed = chat.resumeStream()
        await expect.poll(() => textOf(chat.messages[1]).length, { timeout: 5000 }).toBeGreaterThan(0)
        await chat.stop()
        await resumed
        await expect.poll(() => generationStatus(origin, id), { timeout: 2000 }).toBe("cancelled")
        // The stopped answer does not come back.
        await expectNothingToResume(api, "chat-stop-resumed")
      })

      it("Herald's transport cancels an answer stopped before its first token: the chat stops at once, the cancel follows the head", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: LATE } })
        const origin = running.origin
        const api = `${origin}/v1/ai-sdk/chat`
        let requests = 0
        const ids: string[] = []
        const recordId = async (input: RequestInfo | URL, init?: RequestInit) => {
          if (!String(input).endsWith("/cancel")) requests++
          const response = await fetch(input, init)
          const id = response.headers.get("herald-generation-id")
          if (id !== null) ids.push(id)
          return response
        }
        const chat = new TestChat({
          id: "chat-stop-early",
          transport: new HeraldChatTransport({ api, fetch: recordId, storage: null }),
        })
        const sent = chat.sendMessage({ text: PROMPT })
        // Stopped once the request went out, while the server holds its head.
        await expect.poll(() => requests, { timeout: 2000, interval: 5 }).toBe(1)
        const stopped = Date.now()
        await chat.stop()
        await sent
        expect(Date.now() - stopped).toBeLessThan(1000)
        expect(chat.status).toBe("ready")
        expect(ids).toEqual([])
        // The head named the generation after the stop; the cancel followed.
        await expect.poll(() => ids.length, { timeout: 5000 }).toBe(1)
        await expect
          .poll(() => generationStatus(origin, ids[0] as string), { timeout: 2000 })
          .toBe("cancelled")
        await expectNothingToResume(api, "chat-stop-early")
      })

      it("Herald's transport keeps a stop made before the answer's head: a page reloaded before the head cancels the answer on its resume, and resumes nothing", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: LATE } })
        const origin = running.origin
        const api = `${origin}/v1/ai-sdk/chat`
        const { kept, storage } = pageStorage()
        // The first page's requests, which its going away cuts.
        const page = new AbortController()
        let posts = 0
        const firstPage = (input: RequestInfo | URL, init?: RequestInit) => {
          if (!String(input).endsWith("/cancel")) posts++
          const signal = init?.signal == null ? page.signal : AbortSignal.any([init.signal, page.signal])
          return fetch(input, { ...init, signal })
        }
        const chat = new TestChat({
          id: "chat-stop-reload",
          transport: new HeraldChatTransport({ api, fetch: firstPage, storage }),
        })
        const sent = chat.sendMessage({ text: PROMPT })
        await expect.poll(() => posts, { timeout: 2000, interval: 5 }).toBe(1)
        // The server started the generation (its first token 1.5 s away, and so the head).
        await new Promise((resolve) => setTimeout(resolve, 300))
        await chat.stop()
        await sent
        // Reloaded while the server still holds the head: the first page's wait for it ends.
        page.abort()

        const ids: string[] = []
        const reloaded = new TestChat({
          id: "chat-stop-reload",
          messages: [userMessage(PROMPT)],
          transport: new HeraldChatTransport({
            api,
            storage,
            fetch: async (input, init) => {
              const response = await fetch(input, init)
              const id = response.headers.get("herald-generation-id")
              if (id !== null) ids.push(id)
              return response
            },
          }),
        })
        await reloaded.resumeStream()
        expect(reloaded.status).toBe("ready")
        expect(reloaded.messages).toHaveLength(1)
        expect(ids).toHaveLength(1)
        await expect
          .poll(() => generationStatus(origin, ids[0] as string), { timeout: 2000 })
          .toBe("cancelled")
        expect(kept.size).toBe(0)
        await expectNothingToResume(api, "chat-stop-reload")
      })

      it("Herald's transport cancels nothing when a resume replaces another (resumeStream() again, React's double effect)", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: PACED } })
        const origin = running.origin
        const api = `${origin}/v1/ai-sdk/chat`
        const full = await demoAnswer(PROMPT)
        const cancels: string[] = []
        const watching = (input: RequestInfo | URL, init?: RequestInit) => {
          if (String(input).endsWith("/cancel")) cancels.push(String(input))
          return fetch(input, init)
        }
        // Replaced before its answer's head, then while it reads the answer.
        for (const when of ["asked", "reading"] as const) {
          const chatId = `chat-resumed-twice-${when}`
          const id = await postAndLeave(api, chatId)
          const chat = new TestChat({
            id: chatId,
            messages: [userMessage(PROMPT)],
            transport: new HeraldChatTransport({ api, fetch: watching, storage: null }),
          })
          const first = chat.resumeStream()
          if (when === "reading")
            await expect.poll(() => textOf(chat.messages[1]).length, { timeout: 5000 }).toBeGreaterThan(0)
          await Promise.all([first, chat.resumeStream()])
          expect(chat.status).toBe("ready")
          expect(textOf(chat.messages[1])).toBe(full)
          expect(await generationStatus(origin, id)).toBe("done")
        }
        expect(cancels).toEqual([])
      })
    })
  })
}

// A refusal before any generation, on the memory engine only.
describe("the AI SDK backend refusing a chat", () => {
  it("refuses a body it cannot translate, naming the field, in a shape useChat shows", async () => {
    running = await startAI({ models: { demo: FAST } })
    const response = await fetch(`${running.origin}/v1/ai-sdk/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        id: "chat-pdf",
        messages: [
          {
            id: "u",
            role: "user",
            parts: [{ type: "file", mediaType: "application/pdf", url: "data:application/pdf;base64,AA==" }],
          },
        ],
      }),
    })
    expect(response.status).toBe(400)
    const body = (await response.json()) as { error: { param: string } }
    expect(body.error.param).toBe("messages[0].parts[0].mediaType")
  })

  it("takes an image by a data: or https: URL only, and names the url of any other", async () => {
    running = await startAI({ models: { demo: FAST } })
    const post = (url: string) =>
      fetch(`${running?.origin}/v1/ai-sdk/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          id: "chat-image",
          messages: [
            {
              id: "u",
              role: "user",
              parts: [
                { type: "text", text: "What is in it?" },
                { type: "file", mediaType: "image/png", url },
              ],
            },
          ],
        }),
      })
    for (const url of [
      "http://example.com/cat.png",
      "file:///etc/passwd",
      "blob:https://app.example/1",
      "cat.png",
    ]) {
      const refused = await post(url)
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({
        error: { param: "messages[0].parts[1].url", message: expect.stringContaining("data: or https:") },
      })
    }
    for (const url of ["data:image/png;base64,iVBORw0KGgo=", "HTTPS://example.com/cat.png"]) {
      const taken = await post(url)
      expect(taken.status).toBe(200)
      await taken.text()
    }
  })
})

// The translation of the body's tools, on the memory engine only.
describe("the AI SDK backend with tools the page runs", () => {
  it("sends the body's tools to the model; the page runs the call, and the chat goes on with its output", async () => {
    const upstream = await startUpstream()
    try {
      running = await startAI({ models: { up: { provider: "openai", baseURL: upstream.baseURL } } })
      const frame = (delta: Record<string, unknown>, finish: string | null = null) =>
        `data: ${JSON.stringify({ id: "chatcmpl-1", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
      // First the model calls the tool; asked again with its output, it answers.
      upstream.answer = (response) => {
        const chunks =
          upstream.requests.length === 1
            ? [
                frame({
                  role: "assistant",
                  tool_calls: [
                    {
                      index: 0,
                      id: "call_w",
                      type: "function",
                      function: { name: "weather", arguments: "" },
                    },
                  ],
                }),
                frame({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Oslo"}' } }] }),
                frame({}, "tool_calls"),
              ]
            : [frame({ role: "assistant", content: "It is 4 °C in Oslo." }), frame({}, "stop")]
        response.writeHead(200, { "content-type": "text/event-stream" })
        response.end(`${chunks.join("")}data: [DONE]\n\n`)
      }
      const inputSchema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
      const api = `${running.origin}/v1/ai-sdk/chat`
      const chat = weatherToolChat(
        "chat-tools",
        new HeraldChatTransport({
          api,
          body: {
            model: "up",
            tools: { weather: { description: "The weather now", inputSchema } },
            toolChoice: "auto",
          },
        }),
      )
      await chat.sendMessage({ text: "Weather in Oslo?" })
      await expect.poll(() => upstream.requests.length, { timeout: 5000 }).toBe(2)
      await expect.poll(() => chat.status, { timeout: 5000 }).toBe("ready")
      expect(upstream.requests[0]?.body).toMatchObject({
        tools: [
          {
            type: "function",
            function: { name: "weather", description: "The weather now", parameters: inputSchema },
          },
        ],
        tool_choice: "auto",
      })
      // The page's output went back to the model with its call.
      expect(upstream.requests[1]?.body.messages).toEqual([
        { role: "user", content: "Weather in Oslo?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_w", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_w", content: '{"celsius":4}' },
      ])
      const answer = chat.messages.at(-1)
      expect(answer?.role).toBe("assistant")
      expect(textOf(answer)).toBe("It is 4 °C in Oslo.")

      // A tool choice needs the tools it names; a tool field that cannot travel as JSON is refused.
      for (const [extra, param] of [
        [{ toolChoice: "required" }, "toolChoice"],
        [{ tools: { weather: { inputSchema, execute: "run it" } } }, "tools.weather.execute"],
        [
          { tools: { weather: { inputSchema } }, toolChoice: { type: "tool", toolName: "time" } },
          "toolChoice.toolName",
        ],
      ] as const) {
        const response = await fetch(api, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            id: "chat-tools-choice",
            messages: [{ id: "u", role: "user", parts: [{ type: "text", text: "hi" }] }],
            model: "up",
            ...extra,
          }),
        })
        expect(response.status).toBe(400)
        expect(((await response.json()) as { error: { param: string } }).error.param).toBe(param)
      }
    } finally {
      await upstream.close()
    }
  })
})

describe("an answer that continues the chat's assistant message", () => {
  it("keeps the message's id when resumed and replayed; a message id past 256 characters is a 400 naming it", async () => {
    const upstream = await startUpstream()
    try {
      running = await startAI({ models: { up: { provider: "openai", baseURL: upstream.baseURL } } })
      const api = `${running.origin}/v1/ai-sdk/chat`
      // The answer runs until released: a resume finds it running and sends it from its start.
      let release = () => {}
      const released = new Promise<void>((resolve) => {
        release = resolve
      })
      upstream.answer = (response) => {
        response.writeHead(200, { "content-type": "text/event-stream" })
        response.write(openaiChunk({ role: "assistant", content: "It is 4 °C " }))
        void released.then(() =>
          response.end(`${openaiChunk({ content: "in Oslo." }, "stop")}data: [DONE]\n\n`),
        )
      }
      const post = (id: string) =>
        fetch(api, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            id: "chat-continued",
            model: "up",
            messages: [
              userMessage("Weather in Oslo?"),
              {
                id,
                role: "assistant",
                parts: [
                  { type: "step-start" },
                  {
                    type: "tool-weather",
                    toolCallId: "call_w",
                    state: "output-available",
                    input: { city: "Oslo" },
                    output: { celsius: 4 },
                  },
                ],
              },
            ],
          }),
        })
      const tooLong = await post("a".repeat(257))
      expect(tooLong.status).toBe(400)
      expect(((await tooLong.json()) as { error: { param: string } }).error.param).toBe("messages[1].id")

      const firstPart = async (response: Response) =>
        JSON.parse((await readEvents(response, (events) => events.length > 0))[0]?.data ?? "{}")
      const posted = await post("answer-1")
      expect(await firstPart(posted)).toEqual({ type: "start", messageId: "answer-1" })
      const resumed = await fetch(`${api}/chat-continued/stream`)
      expect(resumed.status).toBe(200)
      expect(await firstPart(resumed)).toEqual({ type: "start", messageId: "answer-1" })
      // And once it ended, a replay of it.
      release()
      const id = posted.headers.get("herald-generation-id")
      const replayed = await finalUIMessage(await fetch(`${running.origin}/v1/generations/${id}/stream`))
      expect(replayed?.id).toBe("answer-1")
      expect(textOf(replayed)).toBe("It is 4 °C in Oslo.")
    } finally {
      await upstream.close()
    }
  })
})

// The transport's kept cursors, on the memory engine only.
describe("Herald's transport forgets a kept replay with nothing left to resume", () => {
  it("when the chat stops its answer, and when the chat has no running answer (204)", async () => {
    running = await startAI({ models: { demo: PACED } })
    const api = `${running.origin}/v1/ai-sdk/chat`
    const { kept, storage } = pageStorage()
    const chat = new TestChat({ id: "chat-stopped", transport: new HeraldChatTransport({ api, storage }) })
    const sent = chat.sendMessage({ text: PROMPT })
    await expect.poll(() => kept.size, { timeout: 5000 }).toBe(1)
    await chat.stop()
    await sent
    expect(kept.size).toBe(0)

    kept.set(
      "herald.chat.chat-never-seen",
      JSON.stringify({ cursor: "x_0000000000000001", chunks: [{ type: "start" }] }),
    )
    const { recorder } = await resumeReloaded(api, "chat-never-seen", storage)
    expect(recorder.exchanges[0]?.headers.get("last-event-id")).toBe("x_0000000000000001")
    expect(recorder.exchanges[0]?.status).toBe(204)
    expect(kept.size).toBe(0)
  })
})

describe("Herald's transport forgets an answer that ended or was stopped, in memory too", () => {
  it("a later resume sends no cursor and finds nothing (204): the message is not replayed, onFinish fires once", async () => {
    running = await startAI({ models: { fast: FAST, paced: PACED } })
    const api = `${running.origin}/v1/ai-sdk/chat`
    for (const model of ["fast", "paced"]) {
      const recorder = recordingFetch({})
      const finished: UIMessage[] = []
      const chat = new TestChat({
        id: `chat-over-${model}`,
        transport: new HeraldChatTransport({ api, fetch: recorder.fetch, body: { model }, storage: null }),
        onFinish: ({ message }) => void finished.push(message),
      })
      const sent = chat.sendMessage({ text: PROMPT })
      if (model === "paced") {
        // Stopped mid-answer.
        await expect.poll(() => textOf(chat.messages[1]).length, { timeout: 5000 }).toBeGreaterThan(0)
        await chat.stop()
      }
      await sent
      const shown = textOf(chat.messages[1])
      expect(finished).toHaveLength(1)
      if (model === "paced") {
        // The stop's cancel leaves as the chat stops; the generation ends on the server a moment later.
        const id = recorder.exchanges
          .find((exchange) => exchange.method === "POST" && exchange.url === api)
          ?.responseHeaders.get("herald-generation-id")
        const status = async () =>
          ((await (await fetch(`${running?.origin}/v1/generations/${id}`)).json()) as { status: string })
            .status
        await expect.poll(status, { timeout: 5000 }).not.toBe("running")
      }

      await chat.resumeStream()
      const resume = recorder.exchanges.find((exchange) => exchange.method === "GET")
      expect(resume?.headers.get("last-event-id")).toBeNull()
      expect(resume?.status).toBe(204)
      expect(finished).toHaveLength(1)
      expect(chat.messages).toHaveLength(2)
      expect(textOf(chat.messages[1])).toBe(shown)
    }
  })
})

describe("Herald's transport and a stream that ends early for good", () => {
  it("shows the error of a log gone under the answer (generation_lost): no resume can read it on", async () => {
    running = await startAI({ models: { demo: PACED } })
    const engine = running.engine
    const recorder = recordingFetch({})
    const errors: Error[] = []
    const chat = new TestChat({
      id: "chat-lost-log",
      transport: new HeraldChatTransport({ api: `${running.origin}/v1/ai-sdk/chat`, fetch: recorder.fetch }),
      onError: (error) => errors.push(error),
    })
    const sent = chat.sendMessage({ text: PROMPT })
    await expect.poll(() => textOf(chat.messages[1]).length, { timeout: 5000 }).toBeGreaterThan(0)
    const id = (recorder.exchanges[0] as Exchange).responseHeaders.get("herald-generation-id") as string
    await engine.delete(generationLog(id))
    await sent
    expect(chat.status).toBe("error")
    expect(errors).toHaveLength(1)
    expect(errors[0]).not.toBeInstanceOf(TypeError)
    expect(errors[0]?.message).toContain("gone from the store")
  })
})

describe("Herald's transport and a kept replay that does not read back", () => {
  it("drops it and resumes the running answer from its start: malformed, not chunks, or not from a start", async () => {
    running = await startAI({ models: { demo: PACED } })
    const api = `${running.origin}/v1/ai-sdk/chat`
    const { kept, storage } = pageStorage()
    const full = await demoAnswer(PROMPT)
    for (const bad of [
      "{not json",
      JSON.stringify({ cursor: "x_0000000000000001", chunks: [null] }),
      JSON.stringify({
        cursor: "x_0000000000000001",
        chunks: [{ type: "text-delta", id: "t", delta: "hi" }],
      }),
    ]) {
      // A running answer for the chat, as a page left it.
      const first = await fetch(api, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: "chat-kept", messages: [userMessage(PROMPT)], trigger: "submit-message" }),
      })
      await (first.body as ReadableStream<Uint8Array>).cancel()
      kept.set("herald.chat.chat-kept", bad)
      const { chat, recorder } = await resumeReloaded(api, "chat-kept", storage)
      expect(recorder.exchanges[0]?.headers.get("last-event-id")).toBeNull()
      expect(chat.status).toBe("ready")
      expect(textOf(chat.messages[1])).toBe(full)
      expect(kept.size).toBe(0)
    }
  })
})
