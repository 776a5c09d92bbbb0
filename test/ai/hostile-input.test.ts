// The AI endpoints against clients that hold on, stall, leave or nest: a body that stops arriving,
// streams past the connection bounds (shared with the hub's), a refusal before the body was read,
// a body nested 50,000 deep, an object of 500,000 keys, a body of 300,000 values, a client leaving
// mid-body, HEAD on a stream.
import { once } from "node:events"
import type { IncomingMessage, ServerResponse } from "node:http"
import { connect } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { createAIHandler } from "../../src/ai/handler.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createHub } from "../../src/hub/hub.js"
import { createAdmission } from "../../src/server/admission.js"
import { listen, rawExchange, recordingLogger, stop } from "../server/helpers.js"
import { aiToken, closedAfterEach, startAI } from "./ai-server.js"
import { ANTHROPIC_OK, startUpstream } from "./upstream.js"

const servers = closedAfterEach()
const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Runs for about 10 seconds unless cancelled. */
const SLOW = { provider: "demo" as const, timeToFirstTokenMs: 0, tokensPerSecond: 8 }
const FAST = { provider: "demo" as const, timeToFirstTokenMs: 0, tokensPerSecond: Number.POSITIVE_INFINITY }
const CHAT = { model: "demo", stream: true, messages: [{ role: "user", content: "hi" }] }
const MESSAGES = { ...CHAT, max_tokens: 10 }

/**
 * Writes `text` on a raw connection, then waits up to `withinMs` for the server to close it.
 * Resolves with what came back, split into status, head and parsed body, and whether it closed.
 */
async function exchange(origin: string, text: string, withinMs = 2000) {
  const { socket, closed, received } = await rawExchange(Number(new URL(origin).port), text)
  cleanups.push(async () => void socket.destroy())
  const wasClosed = await Promise.race([
    closed.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(resolve, withinMs, false)),
  ])
  const [head = "", body = ""] = received().split("\r\n\r\n", 2)
  return {
    closed: wasClosed,
    status: Number(head.split(" ")[1]),
    head: head.toLowerCase(),
    body: body === "" ? undefined : (JSON.parse(body) as unknown),
  }
}

const post = (path: string, headers: string, body: string) =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}\r\n${body}`

function send(
  origin: string,
  body: object,
  path = "/v1/chat/completions",
  headers: Record<string, string> = {},
) {
  return fetch(`${origin}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  })
}

/** Starts the AI endpoints on the instant demo model (and `options`); resolves with their origin. */
async function startDemo(options: Partial<Parameters<typeof startAI>[0]> = {}) {
  servers.running = await startAI({ models: { demo: FAST }, ...options })
  return servers.running.origin
}

/** POSTs JSON text as it is, e.g. a body too large to build as an object. */
function sendText(origin: string, body: string, path = "/v1/chat/completions") {
  return fetch(`${origin}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body })
}

/**
 * That each endpoint refuses with a 400 in its own shape whose message matches `refusal` a body
 * holding `members` (object members, JSON text) in a message or beside the messages.
 */
async function expectRefusedInEveryShape(origin: string, members: string, refusal: RegExp) {
  const user = '{"role":"user","content":"hi"}'
  const uiUser = '{"id":"m1","role":"user","parts":[{"type":"text","text":"hi"}]}'
  for (const [path, head, message] of [
    ["/v1/chat/completions", '"model":"demo"', user],
    ["/v1/messages", '"model":"demo","max_tokens":5', user],
    ["/v1/ai-sdk/chat", '"id":"chat-1"', uiUser],
  ] as const) {
    for (const body of [
      `{${head},"messages":[${message.slice(0, -1)},${members}}]}`,
      `{${head},"messages":[${message}],${members}}`,
    ]) {
      const response = await sendText(origin, body, path)
      expect(response.status, path).toBe(400)
      const error = { type: "invalid_request_error", message: expect.stringMatching(refusal) }
      expect(await response.json(), path).toMatchObject(
        path === "/v1/messages" ? { type: "error", error } : { error },
      )
    }
  }
}

/** That `attempt(limit)` is answered 200 and `attempt(limit + 1)` 400 with a message matching `refusal`. */
async function expectBoundAt(limit: number, attempt: (count: number) => Promise<Response>, refusal: RegExp) {
  const passes = await attempt(limit)
  expect(passes.status).toBe(200)
  await passes.body?.cancel()
  const more = await attempt(limit + 1)
  expect(more.status).toBe(400)
  expect((await more.json()).error.message).toMatch(refusal)
}

/** An AI handler whose model `claude` is an Anthropic upstream that answers every request. */
async function startBehindAnthropic() {
  const upstream = await startUpstream()
  servers.upstream = upstream
  upstream.answer = { chunks: ANTHROPIC_OK }
  servers.running = await startAI({
    models: { claude: { provider: "anthropic", baseURL: upstream.baseURL } },
  })
  return { upstream, origin: servers.running.origin }
}

/**
 * That `refused` (a request whose tool calls' arguments pass a bound) is a 400 naming `param`
 * with a message matching `refusal`, the upstream not asked, and `passes` goes through to it.
 */
async function expectArgumentsRefused(
  behind: { upstream: { requests: unknown[] }; origin: string },
  refused: object,
  passes: object,
  param: string,
  refusal: RegExp,
) {
  const response = await send(behind.origin, refused)
  expect(response.status).toBe(400)
  expect(await response.json()).toMatchObject({
    error: { type: "invalid_request_error", param, message: expect.stringMatching(refusal) },
  })
  expect(behind.upstream.requests).toHaveLength(0)
  const passing = await send(behind.origin, passes)
  expect(passing.status).toBe(200)
  await passing.body?.cancel()
  expect(behind.upstream.requests).toHaveLength(1)
}

describe("a body that stops arriving", () => {
  it("is answered 408 in the endpoint's shape after the body idle timeout, and the connection closed", async () => {
    servers.running = await startAI({ bodyIdleTimeoutMs: 150 })
    const { origin } = servers.running
    const openai = await exchange(
      origin,
      post("/v1/chat/completions", "Content-Length: 100\r\n", '{"model":'),
    )
    expect(openai).toMatchObject({ closed: true, status: 408 })
    expect(openai.head).toContain("connection: close")
    expect(openai.body).toMatchObject({
      error: { type: "invalid_request_error", message: expect.stringMatching(/stopped arriving for 150 ms/) },
    })
    const anthropic = await exchange(origin, post("/v1/messages", "Content-Length: 100\r\n", '{"model":'))
    expect(anthropic).toMatchObject({ closed: true, status: 408 })
    expect(anthropic.body).toMatchObject({ type: "error", error: { type: "invalid_request_error" } })
  })
})

describe("the connection bounds", () => {
  it("count the AI streams per address: past the bound, 429 in the endpoint's shape; a closed stream gives its place back", async () => {
    const admission = createAdmission(100, 1)
    servers.running = await startAI({ models: { demo: SLOW }, admission })
    const { origin } = servers.running
    const first = await send(origin, CHAT)
    expect(first.status).toBe(200)
    const id = first.headers.get("herald-generation-id")
    const second = await send(origin, CHAT)
    expect(second.status).toBe(429)
    expect(second.headers.get("retry-after")).toBe("5")
    expect(await second.json()).toMatchObject({
      error: {
        type: "rate_limit_exceeded",
        code: "too_many_connections",
        message: expect.stringMatching(/Too many open connections from 127\.0\.0\.1 \(at most 1\)/),
      },
    })
    const anthropic = await send(origin, MESSAGES, "/v1/messages")
    expect(anthropic.status).toBe(429)
    expect(await anthropic.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } })
    expect((await fetch(`${origin}/v1/generations/${id}/stream`)).status).toBe(429)
    expect((await fetch(`${origin}/v1/ai-sdk/chat/c1/stream`)).status).toBe(429)
    // Short answers take no place: the list of models, a generation's state.
    expect((await fetch(`${origin}/v1/models`)).status).toBe(200)
    expect((await fetch(`${origin}/v1/generations/${id}`)).status).toBe(200)
    expect(admission.open).toBe(1)
    await first.body?.cancel()
    for (let tries = 0; tries < 200 && admission.open > 0; tries++)
      await new Promise((r) => setTimeout(r, 10))
    expect(admission.open).toBe(0)
    const again = await fetch(`${origin}/v1/generations/${id}/stream`)
    expect(again.status).toBe(200)
    await again.body?.cancel()
  })

  it("are the hub's when it shares them: its subscribers and the AI streams count together", async () => {
    const engine = createMemoryEngine()
    const hub = createHub({ engine, allowAnonymousSubscribe: true, limits: { maxConnectionsPerAddress: 1 } })
    const ai = createAIHandler({ engine, models: { demo: SLOW }, heartbeatMs: 0, admission: hub.admission })
    const { server, url } = await listen((request: IncomingMessage, response: ServerResponse) => {
      const path = (request.url ?? "/").split("?", 1)[0] as string
      void (ai.owns(path) ? ai.handle(request, response) : hub.handle(request, response))
    })
    cleanups.push(async () => {
      await ai.close({ deadlineMs: 100 })
      await hub.close({ deadlineMs: 100 })
      await stop(server)
      await engine.close()
    })
    const subscriber = new AbortController()
    const subscribed = await fetch(`${url}/.well-known/mercure?match=t`, { signal: subscriber.signal })
    expect(subscribed.status).toBe(200)
    expect((await send(url, CHAT)).status).toBe(429)
    subscriber.abort()
    for (let tries = 0; tries < 200 && hub.admission.open > 0; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const stream = await send(url, CHAT)
    expect(stream.status).toBe(200)
    const refused = await fetch(`${url}/.well-known/mercure?match=t`)
    expect(refused.status).toBe(429)
    expect((await refused.json()).detail).toMatch(/Too many open connections from 127\.0\.0\.1 \(at most 1\)/)
    // The hub's own figure counts its subscribers only.
    expect([hub.connections, hub.admission.open]).toEqual([0, 1])
    await stream.body?.cancel()
  })
})

describe("a refusal before the body was read", () => {
  it("closes the connection (401, 413, 415) instead of reading the rest of the body on", async () => {
    servers.running = await startAI({ auth: true, maxBodyBytes: 1000 })
    const { origin } = servers.running
    const huge = "Content-Length: 99999999999\r\n"
    const unauthorized = await exchange(origin, post("/v1/chat/completions", huge, '{"a":'))
    expect(unauthorized).toMatchObject({ closed: true, status: 401 })
    expect(unauthorized.head).toContain("connection: close")
    expect(unauthorized.body).toMatchObject({ error: { type: "authentication_error" } })

    const token = `Authorization: Bearer ${await aiToken(["generate"])}\r\n`
    const tooLarge = await exchange(origin, post("/v1/messages", token + huge, '{"a":'))
    expect(tooLarge).toMatchObject({ closed: true, status: 413 })
    expect(tooLarge.head).toContain("connection: close")
    expect(tooLarge.body).toMatchObject({ type: "error", error: { type: "request_too_large" } })

    const notJson = await exchange(
      origin,
      post("/v1/chat/completions", `${token}Content-Length: 1000\r\n`, "a=").replace(
        "application/json",
        "text/plain",
      ),
    )
    expect(notJson).toMatchObject({ closed: true, status: 415 })
    expect(notJson.head).toContain("connection: close")

    // Past the limit mid-body (no Content-Length to refuse it by): answered, not cut without a word.
    const chunk = "x".repeat(1500)
    const chunked = await exchange(
      origin,
      post(
        "/v1/chat/completions",
        `${token}Transfer-Encoding: chunked\r\n`,
        `${chunk.length.toString(16)}\r\n${chunk}\r\n`,
      ),
    )
    expect(chunked).toMatchObject({ closed: true, status: 413 })
    expect(chunked.head).toContain("connection: close")
  })

  it("keeps the connection when the body was read to its end", async () => {
    servers.running = await startAI()
    const answer = await exchange(
      servers.running.origin,
      post("/v1/chat/completions", "Content-Length: 5\r\n", '{"a":'),
      300,
    )
    expect(answer).toMatchObject({ closed: false, status: 400 })
    expect(answer.head).not.toContain("connection: close")
  })
})

describe("a body of the wrong shape", () => {
  it("JSON that is no object, or a stream flag that is no boolean, is a 400 naming it in the endpoint's shape", async () => {
    servers.running = await startAI({ models: { demo: FAST } })
    const { origin } = servers.running
    const post = (path: string, body: string) =>
      fetch(`${origin}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body })
    const messages = '"messages":[{"role":"user","content":"hi"}]'
    for (const [body, param] of [
      ["null", "body"],
      ["[]", "body"],
      ["7", "body"],
      [`{"model":"demo",${messages},"stream":"true"}`, "stream"],
      [
        `{"model":"demo",${messages},"stream":true,"stream_options":{"include_usage":1}}`,
        "stream_options.include_usage",
      ],
      [`{"model":"demo",${messages},"stream_options":"yes"}`, "stream_options"],
    ]) {
      const response = await post("/v1/chat/completions", body as string)
      expect(response.status, body).toBe(400)
      expect(await response.json(), body).toMatchObject({ error: { type: "invalid_request_error", param } })
    }
    for (const [body, message] of [
      ["null", /body/],
      [`{"model":"demo","max_tokens":5,${messages},"stream":1}`, /stream/],
      [
        `{"model":"demo","max_tokens":5,${messages},"system":null}`,
        /system: must be a string or an array of text parts/,
      ],
    ] as const) {
      const response = await post("/v1/messages", body)
      expect(response.status, body).toBe(400)
      expect(await response.json(), body).toMatchObject({
        type: "error",
        error: { type: "invalid_request_error", message: expect.stringMatching(message) },
      })
    }
  })
})

describe("a body the endpoints cannot read as sent", () => {
  it("compressed, or in a charset other than UTF-8, is a 415 naming it; no message at all is a 400 naming messages", async () => {
    servers.running = await startAI({ models: { demo: FAST } })
    const { origin } = servers.running
    const post = (path: string, body: object, headers: Record<string, string>) =>
      fetch(`${origin}${path}`, { method: "POST", headers, body: JSON.stringify(body) })
    for (const [headers, said] of [
      [{ "content-type": "application/json", "content-encoding": "gzip" }, /Content-Encoding gzip/],
      [{ "content-type": "application/json; charset=utf-16" }, /UTF-8, not utf-16/],
    ] as const) {
      const response = await post("/v1/chat/completions", CHAT, headers)
      expect(response.status, JSON.stringify(headers)).toBe(415)
      expect(JSON.stringify(await response.json())).toMatch(said)
    }
    const utf8 = await post(
      "/v1/chat/completions",
      { ...CHAT, stream: false },
      {
        "content-type": 'application/json; charset="UTF-8"',
      },
    )
    expect(utf8.status).toBe(200)
    const none = await post(
      "/v1/chat/completions",
      { ...CHAT, messages: [] },
      { "content-type": "application/json" },
    )
    expect(none.status).toBe(400)
    expect(await none.json()).toMatchObject({ error: { param: "messages" } })
    const noneToClaude = await post(
      "/v1/messages",
      { ...MESSAGES, messages: [] },
      { "content-type": "application/json" },
    )
    expect(noneToClaude.status).toBe(400)
    expect(JSON.stringify(await noneToClaude.json())).toContain("at least one message")
  })
})

describe("a body nested deeper than the bound", () => {
  const DEPTH = 50_000
  const deep = `${'{"a":'.repeat(DEPTH)}1${"}".repeat(DEPTH)}`

  it("is a 400 naming the bound, in the endpoint's shape, before any code recurses into it", async () => {
    servers.running = await startAI({ models: { demo: FAST } })
    const { origin } = servers.running
    const tools = `[{"type":"function","function":{"name":"f","parameters":${deep}}}]`
    for (const key of [undefined, "deep-1"]) {
      const response = await fetch(`${origin}/v1/chat/completions`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(key === undefined ? {} : { "idempotency-key": key }),
        },
        body: `{"model":"demo","messages":[{"role":"user","content":"hi"}],"tools":${tools}}`,
      })
      expect(response.status).toBe(400)
      expect(await response.json()).toMatchObject({
        error: {
          type: "invalid_request_error",
          message: expect.stringMatching(/nests arrays and objects more than 64 levels deep/),
        },
      })
    }
    const anthropic = await fetch(`${origin}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": "deep-2" },
      body: `{"model":"demo","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f","input_schema":${deep}}]}`,
    })
    expect(anthropic.status).toBe(400)
    expect(await anthropic.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } })
  })

  it("in a tool call's arguments (a string) is a 400 naming them for an Anthropic upstream, before the upstream is asked", async () => {
    const upstream = await startUpstream()
    servers.upstream = upstream
    upstream.answer = { chunks: ANTHROPIC_OK }
    servers.running = await startAI({
      models: { claude: { provider: "anthropic", baseURL: upstream.baseURL } },
    })
    const argumentsText = `{"a":${"[".repeat(DEPTH)}${"]".repeat(DEPTH)}}`
    const response = await fetch(`${servers.running.origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "claude",
        messages: [
          { role: "user", content: "hi" },
          {
            role: "assistant",
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "f", arguments: argumentsText } },
            ],
          },
          { role: "tool", tool_call_id: "call_1", content: "ok" },
        ],
      }),
    })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({
      error: {
        type: "invalid_request_error",
        param: "messages[1].tool_calls[0].function.arguments",
        message: expect.stringMatching(/nests arrays and objects more than 64 levels deep/),
      },
    })
    expect(upstream.requests).toHaveLength(0)
  })

  it("is maxBodyDepth: a body that deep passes, one level more does not", async () => {
    servers.running = await startAI({ models: { demo: FAST }, maxBodyDepth: 5 })
    // Body, tools, a tool, its function, its parameters: 5 levels.
    const body = (parameters: object) => ({
      model: "demo",
      messages: [{ role: "user", content: "hi" }],
      tools: [{ type: "function", function: { name: "f", parameters } }],
    })
    const passes = await send(servers.running.origin, body({ type: "object" }))
    expect(passes.status).toBe(200)
    await passes.body?.cancel()
    const deeper = await send(servers.running.origin, body({ type: "object", properties: {} }))
    expect(deeper.status).toBe(400)
    expect((await deeper.json()).error.message).toMatch(/more than 5 levels deep/)
  })
})

describe("a body with an object of more keys than the bound", () => {
  /** An object's members `"k0":0,"k1":0,…`, `count` of them. */
  const members = (count: number) => Array.from({ length: count }, (_, at) => `"k${at}":0`).join(",")
  // 5.6 MB, within the body bound: parsed, walked and translated, it held the event loop 1.5 to 3 s.
  const MANY = members(500_000)
  const tooMany = /An object in the body has more than 10000 keys.*--ai-max-body-keys/

  it("is a 400 naming the bound, in each endpoint's shape, whether the keys are the body's or a message's", async () => {
    await expectRefusedInEveryShape(await startDemo(), MANY, tooMany)
  })

  it("is at most maxBodyKeys, 10 000 by default: a tool schema of that many properties passes, one more does not", async () => {
    const origin = await startDemo()
    const body = (count: number) =>
      `{"model":"demo","stream":false,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{${members(count)}}}}}]}`
    await expectBoundAt(10_000, (count) => sendText(origin, body(count)), tooMany)
  })

  it("takes maxBodyKeys from the options", async () => {
    const origin = await startDemo({ maxBodyKeys: 3 })
    // The body's own keys are 3: model, messages, stream; then max_tokens, a 4th.
    await expectBoundAt(3, (count) => send(origin, count === 3 ? CHAT : MESSAGES), /more than 3 keys/)
  })

  it("in a tool call's arguments (a string) is a 400 naming them for an Anthropic upstream, before the upstream is asked", async () => {
    const behind = await startBehindAnthropic()
    const call = (count: number) => ({
      model: "claude",
      messages: [
        { role: "user", content: "hi" },
        {
          role: "assistant",
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "f", arguments: `{${members(count)}}` } },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "ok" },
      ],
    })
    await expectArgumentsRefused(
      behind,
      call(500_000),
      call(10_000),
      "messages[1].tool_calls[0].function.arguments",
      /has an object of more than 10000 keys/,
    )
  })
})

describe("a body of more values than the bound", () => {
  /** `count` JSON values `item`, comma-separated. */
  const items = (count: number, item = "{}") => Array(count).fill(item).join(",")
  // 0.9 MB: parsed, 8 MiB of them (2.8 million) held the event loop 1 to 2.5 s.
  const MANY = `[${items(300_000)}]`
  const tooMany = /The body holds more than 200000 values.*--ai-max-body-values/

  it("is a 400 naming the bound, in each endpoint's shape, whether the values are the body's or a message's", async () => {
    await expectRefusedInEveryShape(await startDemo(), `"x":${MANY}`, tooMany)
  })

  it("is at most maxBodyValues, 200 000 by default: a body of that many passes, one more does not", async () => {
    const origin = await startDemo()
    // 14 values around the enum's items: model, stream, messages, tools; the message and its 2;
    // the tool and its 2, its function's 2, the parameters' 2.
    const body = (count: number) =>
      `{"model":"demo","stream":false,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","enum":[${items(count - 14, "0")}]}}}]}`
    await expectBoundAt(200_000, (count) => sendText(origin, body(count)), tooMany)
  })

  it("takes maxBodyValues from the options", async () => {
    const origin = await startDemo({ maxBodyValues: 6 })
    // model, stream, messages; the message and its role and content: 6. Then max_tokens, a 7th.
    await expectBoundAt(6, (count) => send(origin, count === 6 ? CHAT : MESSAGES), /more than 6 values/)
  })

  it("in tool calls' arguments (strings) for an Anthropic upstream: all the calls' together, a 400 naming the call that passes the bound, before the upstream is asked", async () => {
    const behind = await startBehindAnthropic()
    /** Two calls, each of arguments of `count` values: `x` and its items. */
    const calls = (count: number) => {
      const toolCalls = ["call_1", "call_2"].map((id) => ({
        id,
        type: "function",
        function: { name: "f", arguments: `{"x":[${items(count - 1, "0")}]}` },
      }))
      return {
        model: "claude",
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", tool_calls: toolCalls },
          ...toolCalls.map(({ id }) => ({ role: "tool", tool_call_id: id, content: "ok" })),
        ],
      }
    }
    await expectArgumentsRefused(
      behind,
      calls(100_001),
      calls(100_000),
      "messages[1].tool_calls[1].function.arguments",
      /tool calls' arguments .*past 200000/,
    )
  })
})

describe("a client that leaves mid-body", () => {
  it("is the client leaving: nothing logged as an error", async () => {
    const logger = recordingLogger()
    const engine = createMemoryEngine()
    const ai = createAIHandler({ engine, logger, heartbeatMs: 0 })
    let handled: () => void = () => {}
    const done = new Promise<void>((resolve) => {
      handled = resolve
    })
    const { server, url } = await listen(async (request, response) => {
      await ai.handle(request, response)
      handled()
    })
    cleanups.push(async () => {
      await ai.close({ deadlineMs: 100 })
      await stop(server)
      await engine.close()
    })
    const { hostname, port } = new URL(url)
    const socket = connect(Number(port), hostname)
    await once(socket, "connect")
    socket.write(post("/v1/chat/completions", "Content-Length: 100\r\n", '{"model":'))
    await new Promise((resolve) => setTimeout(resolve, 100))
    socket.destroy()
    await done
    expect(logger.entries.filter((entry) => entry.level === "error")).toEqual([])
  })
})

describe("HEAD on a stream", () => {
  it("is a 405 whose Allow says GET only; where HEAD is answered, Allow says so", async () => {
    servers.running = await startAI({ models: { demo: FAST } })
    const { origin } = servers.running
    const id = (await send(origin, { ...CHAT, stream: false })).headers.get("herald-generation-id")
    for (const path of [`/v1/generations/${id}/stream`, "/v1/ai-sdk/chat/c1/stream"]) {
      const head = await fetch(`${origin}${path}`, { method: "HEAD" })
      expect([path, head.status, head.headers.get("allow")]).toEqual([path, 405, "GET"])
    }
    expect((await fetch(`${origin}/v1/generations/${id}`, { method: "HEAD" })).status).toBe(200)
    const state = await fetch(`${origin}/v1/generations/${id}`, { method: "PUT" })
    expect([state.status, state.headers.get("allow")]).toEqual([405, "GET, HEAD"])
  })
})
