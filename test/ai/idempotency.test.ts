import OpenAI from "openai"
import { afterEach, describe, expect, it } from "vitest"
import type { Engine } from "../../src/engine/engine.js"
import { aiToken, readEvents, startAI, startNodes, type TestAI } from "./ai-server.js"
import { testEngines } from "./engines.js"
import { startUpstream, type Upstream } from "./upstream.js"

const FAST = { provider: "demo" as const, timeToFirstTokenMs: 0, tokensPerSecond: Number.POSITIVE_INFINITY }
const PACED = { provider: "demo" as const, timeToFirstTokenMs: 0, tokensPerSecond: 200 }
const BODY = { model: "demo", stream: true, messages: [{ role: "user", content: "Say something" }] }

let running: TestAI | undefined
let upstream: Upstream | undefined
afterEach(async () => {
  await running?.close()
  await upstream?.close()
  running = undefined
  upstream = undefined
})

function create(origin: string, headers: Record<string, string>, body: unknown = BODY): Promise<Response> {
  return fetch(`${origin}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  })
}

/** The text of OpenAI chunk events. */
function textOf(events: readonly { data: string }[]): string {
  return events
    .filter((event) => event.data !== "[DONE]")
    .map((event) => (JSON.parse(event.data) as { choices?: { delta?: { content?: string } }[] }).choices)
    .map((choices) => choices?.[0]?.delta?.content ?? "")
    .join("")
}

/** `engine`, with `head` of the idempotency logs answering `ms` after it read. */
function slowKeyLookups(engine: Engine, ms: number): Engine {
  return new Proxy(engine, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      if (property !== "head") return typeof value === "function" ? value.bind(target) : value
      return async (log: string) => {
        const head = await target.head(log)
        // What it read is stale by the time it answers: others may have claimed the key meanwhile.
        if (log.startsWith("ai/idempotency/")) await new Promise((resolve) => setTimeout(resolve, ms))
        return head
      }
    },
  })
}

async function generationCount(engine: Engine): Promise<number> {
  return (await engine.list({ prefix: "ai/gen/", limit: 100 })).logs.length
}

const ENGINES = await testEngines("idempotency")

for (const kind of ENGINES) {
  // A key is a log of the engine, claimed by the first request to create it.
  describe.skipIf(!kind.available)(`on the ${kind.name} engine`, () => {
    describe("Idempotency-Key on create", () => {
      it("a retry with the key gets the same generation again, from the start, and starts no second one", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: PACED } })
        const first = await create(running.origin, { "idempotency-key": "key-1" })
        const id = first.headers.get("herald-generation-id")
        const cut = await readEvents(first, (events) => events.length >= 3)
        const retry = await create(running.origin, { "idempotency-key": "key-1" })
        expect(retry.status).toBe(200)
        expect(retry.headers.get("herald-generation-id")).toBe(id)
        expect(retry.headers.get("idempotent-replayed")).toBe("true")
        const all = await readEvents(retry)
        expect(all.slice(0, cut.length)).toEqual(cut)
        expect(all.at(-1)?.data).toBe("[DONE]")
        // After it ended, and not streaming: the whole answer of the same generation.
        const whole = await create(running.origin, { "idempotency-key": "key-2" }, { ...BODY, stream: false })
        const wholeAgain = await create(
          running.origin,
          { "idempotency-key": "key-2" },
          { ...BODY, stream: false },
        )
        expect(wholeAgain.headers.get("herald-generation-id")).toBe(whole.headers.get("herald-generation-id"))
        expect(await wholeAgain.json()).toEqual(await whole.json())
        expect(await generationCount(running.engine)).toBe(2)
        // No key: a new generation each time.
        await (await create(running.origin, {})).text()
        expect(await generationCount(running.engine)).toBe(3)
      })

      it("the key with another body is a 422; the same key from another subject is another generation", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: FAST }, auth: true })
        const alice = {
          authorization: `Bearer ${await aiToken(["generate", "read"])}`,
          "idempotency-key": "k",
        }
        const bob = {
          authorization: `Bearer ${await aiToken(["generate", "read"], { subject: "urn:test:bob" })}`,
          "idempotency-key": "k",
        }
        const first = await create(running.origin, alice)
        await first.text()
        const other = await create(running.origin, alice, {
          ...BODY,
          messages: [{ role: "user", content: "else" }],
        })
        expect(other.status).toBe(422)
        expect(await other.json()).toMatchObject({ error: { param: "idempotency-key" } })
        const bobs = await create(running.origin, bob)
        await bobs.text()
        expect(bobs.headers.get("herald-generation-id")).not.toBe(first.headers.get("herald-generation-id"))
        expect(bobs.headers.get("idempotent-replayed")).toBeNull()
        const empty = await create(running.origin, { ...alice, "idempotency-key": "" })
        expect(empty.status).toBe(400)
      })

      it("a token with only `generate` gets its own generation again; one without `sub` needs `read` on it, and is told so", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: FAST }, auth: true })
        const authorization = `Bearer ${await aiToken(["generate"])}`
        const first = await create(running.origin, { authorization, "idempotency-key": "own" })
        const id = first.headers.get("herald-generation-id")
        const text = textOf(await readEvents(first))
        const retry = await create(running.origin, { authorization, "idempotency-key": "own" })
        expect(retry.status).toBe(200)
        expect(retry.headers.get("herald-generation-id")).toBe(id)
        expect(retry.headers.get("idempotent-replayed")).toBe("true")
        expect(textOf(await readEvents(retry))).toBe(text)
        // Reading it otherwise still needs `read`.
        const read = await fetch(`${running.origin}/v1/generations/${id}/stream`, {
          headers: { authorization },
        })
        expect(read.status).toBe(404)
        await read.text()

        // A token without `sub` owns nothing: its key's generation may be another such token's.
        const ownerless = `Bearer ${await aiToken(["generate"], { subject: null })}`
        await (await create(running.origin, { authorization: ownerless, "idempotency-key": "shared" })).text()
        const refused = await create(running.origin, {
          authorization: ownerless,
          "idempotency-key": "shared",
        })
        expect(refused.status).toBe(403)
        expect(refused.headers.get("retry-after")).toBeNull()
        expect(await refused.json()).toMatchObject({
          error: {
            code: "insufficient_scope",
            param: "idempotency-key",
            message: expect.stringContaining("`read`"),
          },
        })
        const reader = `Bearer ${await aiToken(["generate", "read"], { subject: null })}`
        const replayed = await create(running.origin, { authorization: reader, "idempotency-key": "shared" })
        expect(replayed.status).toBe(200)
        expect(replayed.headers.get("idempotent-replayed")).toBe("true")
        await replayed.text()
        expect(await generationCount(running.engine)).toBe(2)
      })

      it("a retry with the key and a cursor gets what follows it; a cursor not of its generation is a 400", async () => {
        running = await startAI({ openEngine: kind.open, models: { demo: FAST } })
        const events = await readEvents(await create(running.origin, { "idempotency-key": "cursor" }))
        const cut = events[2]?.lastEventId as string
        const rest = await create(running.origin, { "idempotency-key": "cursor", "last-event-id": cut })
        expect(rest.status).toBe(200)
        expect(rest.headers.get("idempotent-replayed")).toBe("true")
        expect(await readEvents(rest)).toEqual(events.slice(3))
        const refused = await create(running.origin, {
          "idempotency-key": "cursor",
          "last-event-id": "abcdefgh_0000000000000001",
        })
        expect(refused.status).toBe(400)
        expect(await refused.json()).toMatchObject({ error: { param: "last_event_id" } })
        expect(await generationCount(running.engine)).toBe(1)
      })

      it("requests racing with one key on two nodes of one store make one generation", async () => {
        const engine = kind.open()
        // Every request looks the key up before any has claimed it: a real race.
        const beside = kind.nodeBeside(engine)
        const slow = slowKeyLookups(engine, 50)
        const engines = [slow, beside === engine ? slow : slowKeyLookups(beside, 50)]
        const { nodes, close } = await startNodes(engines, {
          heartbeatMs: 0,
          flushMs: 5,
          models: { demo: FAST },
        })
        try {
          const responses = await Promise.all(
            Array.from({ length: 6 }, (_, at) =>
              create((nodes[at % 2] as { origin: string }).origin, { "idempotency-key": "raced" }),
            ),
          )
          const texts = await Promise.all(
            responses.map(async (response) => textOf(await readEvents(response))),
          )
          expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200, 200])
          const ids = new Set(responses.map((response) => response.headers.get("herald-generation-id")))
          expect(ids.size).toBe(1)
          expect(new Set(texts).size).toBe(1)
          expect(await generationCount(engine)).toBe(1)
        } finally {
          await close()
        }
      })

      it("the openai SDK retrying after a refusal asks again, and after a lost connection gets the same generation", async () => {
        upstream = await startUpstream()
        let calls = 0
        upstream.answer = (response) => {
          calls++
          if (calls === 1) {
            response.writeHead(503, { "content-type": "application/json", "retry-after-ms": "1" })
            response.end(JSON.stringify({ error: { message: "Overloaded", type: "server_error" } }))
            return
          }
          response.writeHead(200, { "content-type": "text/event-stream" })
          const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
            `data: ${JSON.stringify({ id: "up", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`
          response.end(`${chunk({ content: "Hello" })}${chunk({}, "stop")}data: [DONE]\n\n`)
        }
        running = await startAI({
          openEngine: kind.open,
          models: { gpt: { provider: "openai", baseURL: upstream.baseURL } },
        })
        /** The SDK with its idempotency header on: every retry of a request repeats its key. */
        class RetryingOpenAI extends OpenAI {
          protected override idempotencyHeader = "Idempotency-Key"
        }
        const keys: (string | null)[] = []
        let dropFirst = false
        const client = new RetryingOpenAI({
          baseURL: `${running.origin}/v1`,
          apiKey: "unused",
          maxRetries: 2,
          fetch: async (input, init) => {
            keys.push(new Headers(init?.headers).get("idempotency-key"))
            const response = await fetch(input, init)
            if (!dropFirst) return response
            // The answer reached Herald, but the connection dies before the client reads it.
            dropFirst = false
            await response.body?.cancel()
            throw new TypeError("fetch failed")
          },
        })
        const request = {
          model: "gpt",
          stream: true as const,
          messages: [{ role: "user" as const, content: "hi" }],
        }
        let text = ""
        for await (const chunk of await client.chat.completions.create(request))
          text += chunk.choices[0]?.delta.content ?? ""
        expect(text).toBe("Hello")
        // The 503 was passed through, the SDK retried with the same key, and Herald asked the upstream again.
        expect(keys).toHaveLength(2)
        expect(keys[0]).toMatch(/^stainless-node-retry-/)
        expect(keys[1]).toBe(keys[0])
        expect(calls).toBe(2)

        dropFirst = true
        keys.length = 0
        text = ""
        for await (const chunk of await client.chat.completions.create(request))
          text += chunk.choices[0]?.delta.content ?? ""
        expect(text).toBe("Hello")
        expect(keys).toHaveLength(2)
        expect(keys[1]).toBe(keys[0])
        // The lost first answer's generation answered the retry: the upstream was asked once more, not twice.
        expect(calls).toBe(3)
      })
    })
  })
}
