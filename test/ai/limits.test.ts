import { afterEach, describe, expect, it } from "vitest"
import { generationLog, newGenerationId } from "../../src/ai/generation-id.js"
import { DEFAULT_MAX_CONTENT_PARTS, DEFAULT_MAX_MESSAGES } from "../../src/ai/message-bounds.js"
import { runningMarker } from "../../src/ai/running-marker.js"
import { createSubjectLimits, isRefusal, type SubjectLimitSettings } from "../../src/ai/subject-limits.js"
import { subjectScopedLog } from "../../src/ai/subject-scoped-log.js"
import type { Engine } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/index.js"
import { aiToken, startAI, startNodes, type TestAI, testVerifier } from "./ai-server.js"
import { type EngineKind, testEngines } from "./engines.js"
import { ANTHROPIC_OK, startUpstream } from "./upstream.js"

const FAST = { provider: "demo" as const, timeToFirstTokenMs: 0, tokensPerSecond: Number.POSITIVE_INFINITY }
/** Runs for about 10 seconds unless cancelled. */
const SLOW = { provider: "demo" as const, timeToFirstTokenMs: 0, tokensPerSecond: 8 }
const PNG = "data:image/png;base64,iVBORw0KGgo="

let running: TestAI | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

async function bearer(subject = "urn:test:alice"): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await aiToken(["generate", "read", "cancel"], { subject })}` }
}

function post(
  origin: string,
  headers: Record<string, string>,
  body: Record<string, unknown>,
  path = "/v1/chat/completions",
): Promise<Response> {
  return fetch(`${origin}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  })
}

const chat = (model = "demo", extra: Record<string, unknown> = {}) => ({
  model,
  stream: true,
  messages: [{ role: "user", content: "hi" }],
  ...extra,
})

describe("limits per subject and per app", () => {
  it("concurrent generations: one subject's past the limit get 429 with retry-after, in each endpoint's shape", async () => {
    running = await startAI({ models: { demo: SLOW }, auth: true, maxConcurrentPerSubject: 2 })
    const alice = await bearer()
    const first = await post(running.origin, alice, chat())
    const second = await post(running.origin, alice, chat())
    expect([first.status, second.status]).toEqual([200, 200])
    const third = await post(running.origin, alice, chat())
    expect(third.status).toBe(429)
    expect(third.headers.get("retry-after")).toBe("1")
    expect(await third.json()).toMatchObject({
      error: { type: "rate_limit_exceeded", code: "concurrency_limit_exceeded" },
    })
    const anthropic = await post(
      running.origin,
      alice,
      { model: "demo", max_tokens: 10, stream: true, messages: [{ role: "user", content: "hi" }] },
      "/v1/messages",
    )
    expect(anthropic.status).toBe(429)
    expect(await anthropic.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } })
    // Another subject has places of its own.
    const bob = await post(running.origin, await bearer("urn:test:bob"), chat())
    expect(bob.status).toBe(200)
    await bob.body?.cancel()
    // Once one of alice's ends, she may start another.
    const id = first.headers.get("herald-generation-id")
    expect((await post(running.origin, alice, {}, `/v1/generations/${id}/cancel`)).status).toBe(200)
    const fourth = await post(running.origin, alice, chat())
    expect(fourth.status).toBe(200)
    for (const response of [first, second, fourth]) await response.body?.cancel()
  })

  it("a request asking for more output tokens than allowed is a 400 naming its field", async () => {
    running = await startAI({ models: { demo: FAST }, maxOutputTokens: 100 })
    const openai = await post(running.origin, {}, chat("demo", { max_tokens: 101 }))
    expect(openai.status).toBe(400)
    expect(await openai.json()).toMatchObject({ error: { param: "max_tokens" } })
    // The field the client sent is named, even beside the other one.
    for (const extra of [{ max_completion_tokens: 101 }, { max_completion_tokens: 101, max_tokens: 10 }]) {
      const completion = await post(running.origin, {}, chat("demo", extra))
      expect(completion.status).toBe(400)
      expect(await completion.json()).toMatchObject({
        error: {
          param: "max_completion_tokens",
          message: "max_completion_tokens: at most 100 output tokens may be asked for here.",
        },
      })
    }
    const aiSdk = await post(
      running.origin,
      {},
      {
        id: "c",
        maxOutputTokens: 1000,
        messages: [{ id: "u", role: "user", parts: [{ type: "text", text: "hi" }] }],
      },
      "/v1/ai-sdk/chat",
    )
    expect(aiSdk.status).toBe(400)
    expect(await aiSdk.json()).toMatchObject({ error: { param: "maxOutputTokens" } })
    const within = await post(running.origin, {}, chat("demo", { max_tokens: 100 }))
    expect(within.status).toBe(200)
    await within.text()
  })

  it("more messages than allowed, or more content parts in all than allowed, is a 400 naming the client's field", async () => {
    const tiny = (count: number) => Array.from({ length: count }, () => ({ role: "user", content: "a" }))
    running = await startAI({ models: { demo: FAST } })
    // The default: 2000 messages pass, one more does not.
    const most = await post(running.origin, {}, { model: "demo", messages: tiny(DEFAULT_MAX_MESSAGES) })
    expect(most.status).toBe(200)
    await most.text()
    const openai = await post(running.origin, {}, { model: "demo", messages: tiny(DEFAULT_MAX_MESSAGES + 1) })
    expect(openai.status).toBe(400)
    expect(await openai.json()).toMatchObject({
      error: {
        param: "messages",
        message: `messages: at most ${DEFAULT_MAX_MESSAGES} messages may be sent in one request; this one has ${DEFAULT_MAX_MESSAGES + 1}.`,
      },
    })
    await running.close()
    running = await startAI({ models: { demo: FAST }, maxMessages: 3 })
    const anthropic = await post(
      running.origin,
      {},
      { model: "demo", max_tokens: 10, messages: tiny(4) },
      "/v1/messages",
    )
    expect(anthropic.status).toBe(400)
    expect(await anthropic.json()).toEqual({
      type: "error",
      error: {
        type: "invalid_request_error",
        message: "messages: at most 3 messages may be sent in one request; this one has 4.",
      },
    })
    // Parts are counted over all the messages, and named where the count passed the bound.
    const half = Array.from({ length: DEFAULT_MAX_CONTENT_PARTS / 2 }, () => ({ type: "text", text: "a" }))
    const aiSdk = await post(
      running.origin,
      {},
      {
        id: "c",
        messages: [
          { id: "u1", role: "user", parts: half },
          { id: "u2", role: "user", parts: [...half, { type: "text", text: "a" }] },
        ],
      },
      "/v1/ai-sdk/chat",
    )
    expect(aiSdk.status).toBe(400)
    expect(await aiSdk.json()).toMatchObject({ error: { param: "messages[1].parts" } })
    const blocks = await post(
      running.origin,
      {},
      { model: "demo", max_tokens: 10, messages: [{ role: "user", content: [...half, ...half, ...half] }] },
      "/v1/messages",
    )
    expect(blocks.status).toBe(400)
    expect(await blocks.json()).toMatchObject({
      error: {
        message: new RegExp(`^messages\\[0\\]\\.content: at most ${DEFAULT_MAX_CONTENT_PARTS} content parts`),
      },
    })

    // Both arrays count, whichever the endpoint reads: an empty `content` slips no `parts` past.
    const slipped = await post(
      running.origin,
      {},
      { id: "c", messages: [{ id: "u1", role: "user", content: [], parts: [...half, ...half, ...half] }] },
      "/v1/ai-sdk/chat",
    )
    expect(slipped.status).toBe(400)
    expect(await slipped.json()).toMatchObject({ error: { param: "messages[0].parts" } })
    await running.close()
    running = await startAI({ models: { demo: FAST }, maxContentParts: 2 })
    const few = await post(
      running.origin,
      {},
      { model: "demo", messages: [{ role: "user", content: [...half.slice(0, 3)] }] },
    )
    expect(few.status).toBe(400)
    expect(await few.json()).toMatchObject({ error: { param: "messages[0].content" } })
  })

  it("takes an agent transcript at the message bound at the default, and refuses one past the parts bound", async () => {
    // As the Anthropic SDK sends a long agent loop: each assistant turn thinking, text and
    // `calls` parallel tool calls, each user turn their results with a text block each; 20 tools,
    // two system blocks. 999 rounds are 1999 messages, under the message bound.
    const transcript = (calls: number) => {
      const text = (value: string) => ({ type: "text", text: value })
      const messages: unknown[] = [{ role: "user", content: [text("Refactor the repo.")] }]
      for (let round = 0; round < 999; round++) {
        const ids = Array.from({ length: calls }, (_, at) => `toolu_${round}_${at}`)
        messages.push({
          role: "assistant",
          content: [
            { type: "thinking", thinking: "…", signature: "sig" },
            text("Looking."),
            ...ids.map((id) => ({ type: "tool_use", id, name: "read", input: { path: `f${round}` } })),
          ],
        })
        messages.push({
          role: "user",
          content: ids.map((id) => ({ type: "tool_result", tool_use_id: id, content: [text("ok")] })),
        })
      }
      return {
        model: "demo",
        max_tokens: 10,
        system: [text("You are…"), { ...text("env"), cache_control: { type: "ephemeral" } }],
        tools: Array.from({ length: 20 }, (_, at) => ({ name: `t${at}`, input_schema: { type: "object" } })),
        messages,
      }
    }
    running = await startAI({ models: { demo: FAST } })
    // 3 calls a round: 11 items a round, 11 012 in all (7993 content blocks).
    const legit = await post(running.origin, {}, transcript(3), "/v1/messages")
    expect(legit.status).toBe(200)
    await legit.text()
    // 6 calls a round: 20 a round, 20 003 in all; the bound passes at the last tool result's text.
    const past = await post(running.origin, {}, transcript(6), "/v1/messages")
    expect(past.status).toBe(400)
    expect(await past.json()).toMatchObject({
      error: {
        message: expect.stringMatching(
          new RegExp(
            `^messages\\[1998\\]\\.content\\[3\\]\\.content: at most ${DEFAULT_MAX_CONTENT_PARTS} content parts`,
          ),
        ),
      },
    })
  })

  it("counts the other lists a request's translation reads item by item with the content parts", async () => {
    running = await startAI({ models: { demo: FAST }, maxContentParts: 4 })
    const five = <T>(item: (at: number) => T) => Array.from({ length: 5 }, (_, at) => item(at))
    const call = (at: number) => ({
      id: `c${at}`,
      type: "function",
      function: { name: "f", arguments: "{}" },
    })
    const question = { role: "user", content: "q" }
    const text = { type: "text", text: "a" }
    const openai = (extra: Record<string, unknown>, assistant: Record<string, unknown> = {}) => ({
      body: {
        model: "demo",
        messages: [question, { role: "assistant", content: null, ...assistant }],
        ...extra,
      },
      path: "/v1/chat/completions",
    })
    const anthropic = (extra: Record<string, unknown>, messages: unknown[] = [question]) => ({
      body: { model: "demo", max_tokens: 10, messages, ...extra },
      path: "/v1/messages",
    })
    const reasoning = {
      type: "reasoning",
      text: "",
      providerMetadata: { openrouter: { reasoning_details: five(() => ({ type: "reasoning.text" })) } },
    }
    const aiSdk = (extra: Record<string, unknown>, parts: unknown[] = [text]) => ({
      body: { id: "c", messages: [{ id: "u1", role: "user", parts }], ...extra },
      path: "/v1/ai-sdk/chat",
    })
    const toolResult = { type: "tool_result", tool_use_id: "t", content: five(() => text) }
    const cases: [{ body: Record<string, unknown>; path: string }, string][] = [
      [openai({}, { tool_calls: five(call) }), "messages[1].tool_calls"],
      [
        openai({}, { thinking_blocks: five(() => ({ type: "thinking", thinking: "", signature: "S" })) }),
        "messages[1].thinking_blocks",
      ],
      [
        openai({}, { reasoning_details: five(() => ({ type: "reasoning.text" })) }),
        "messages[1].reasoning_details",
      ],
      // Added to what came before: one content part and four calls are five.
      [openai({}, { content: [text], tool_calls: five(call).slice(1) }), "messages[1].tool_calls"],
      [openai({ tools: five((at) => ({ type: "function", function: { name: `f${at}` } })) }), "tools"],
      [anthropic({ system: five(() => text) }), "system"],
      [anthropic({ tools: five((at) => ({ name: `f${at}`, input_schema: {} })) }), "tools"],
      [anthropic({}, [question, { role: "user", content: [toolResult] }]), "messages[1].content[0].content"],
      [aiSdk({ tools: Object.fromEntries(five((at) => [`f${at}`, { inputSchema: {} }])) }), "tools"],
      [aiSdk({}, [reasoning]), "messages[0].parts[0].providerMetadata.openrouter.reasoning_details"],
      // The body's other lists and objects translated item by item.
      [openai({ stop: five((at) => `s${at}`) }), "stop"],
      [anthropic({ stop_sequences: five((at) => `s${at}`) }), "stop_sequences"],
      [openai({ logit_bias: Object.fromEntries(five((at) => [`${at}`, 1])) }), "logit_bias"],
      [openai({ metadata: Object.fromEntries(five((at) => [`k${at}`, "v"])) }), "metadata"],
      [anthropic({ metadata: Object.fromEntries(five((at) => [`k${at}`, "v"])) }), "metadata"],
      // Added to what came before: two stop sequences and three biases are five.
      [openai({ stop: ["a", "b"], logit_bias: { 1: 1, 2: 1, 3: 1 } }), "logit_bias"],
    ]
    for (const [{ body, path }, field] of cases) {
      const refused = await post(running.origin, {}, body, path)
      expect(refused.status, field).toBe(400)
      const { error } = (await refused.json()) as { error: { message: string } }
      expect(error.message, field).toMatch(
        new RegExp(`^${field.replace(/[[\].]/g, "\\$&")}: at most 4 content parts`),
      )
    }
    // At the bound, what the translation reads goes through.
    const within = await post(
      running.origin,
      {},
      anthropic({ system: [text, text] }, [{ role: "user", content: [text, text] }]).body,
      "/v1/messages",
    )
    expect(within.status).toBe(200)
    await within.text()
    const withinOpenAI = await post(
      running.origin,
      {},
      openai({ stop: ["a"], logit_bias: { 1: 1 }, metadata: { k: "v" } }, { content: "a" }).body,
    )
    expect(withinOpenAI.status).toBe(200)
    await withinOpenAI.text()
  })

  it("a thinking budget counts towards the output tokens: the 400 names thinking.budget_tokens", async () => {
    const upstream = await startUpstream()
    upstream.answer = { chunks: ANTHROPIC_OK }
    running = await startAI({
      models: { claude: { provider: "anthropic", baseURL: upstream.baseURL }, demo: FAST },
      maxOutputTokens: 65_536,
    })
    const messages = (extra: Record<string, unknown>, model = "claude") => ({
      model,
      messages: [{ role: "user", content: "hi" }],
      ...extra,
    })
    // Without max_tokens, Claude would be asked for the budget and 4096 more (1,004,096 here).
    for (const extra of [
      { thinking: { type: "enabled", budget_tokens: 1_000_000 } },
      { thinking: { type: "enabled", budget_tokens: 1_000_000 }, max_tokens: 1000 },
      { thinking: { type: "enabled", budget_tokens: 62_000 } },
    ]) {
      const refused = await post(running.origin, {}, messages(extra), "/v1/messages")
      expect(refused.status).toBe(400)
      expect(await refused.json()).toMatchObject({
        type: "error",
        error: {
          type: "invalid_request_error",
          message: expect.stringMatching(/^thinking\.budget_tokens: at most 65536 output tokens/),
        },
      })
    }
    // max_tokens beyond the limit is named first; within it, a budget below it is the client's to choose.
    const both = await post(
      running.origin,
      {},
      messages({ thinking: { type: "enabled", budget_tokens: 1_000_000 }, max_tokens: 70_000 }),
      "/v1/messages",
    )
    expect(await both.json()).toMatchObject({ error: { message: expect.stringMatching(/^max_tokens:/) } })
    for (const extra of [
      { thinking: { type: "enabled", budget_tokens: 61_000 } },
      { thinking: { type: "enabled", budget_tokens: 62_000 }, max_tokens: 65_536 },
    ]) {
      const within = await post(running.origin, {}, messages(extra), "/v1/messages")
      expect(within.status).toBe(200)
      await within.text()
    }
    // Another upstream is asked for no 4096 beside the budget: nothing to refuse.
    const elsewhere = await post(
      running.origin,
      {},
      messages({ thinking: { type: "enabled", budget_tokens: 62_000 } }, "demo"),
      "/v1/messages",
    )
    expect(elsewhere.status).toBe(200)
    await elsewhere.text()
    await upstream.close()
  })

  it("a request to Claude without a most of output tokens asks for the adapter's default only up to the limit", async () => {
    const upstream = await startUpstream()
    upstream.answer = { chunks: ANTHROPIC_OK }
    running = await startAI({
      models: { claude: { provider: "anthropic", baseURL: upstream.baseURL } },
      maxOutputTokens: 1000,
    })
    const openai = await post(running.origin, {}, chat("claude"))
    expect(openai.status).toBe(200)
    await openai.text()
    await running.close()
    running = await startAI({
      models: { claude: { provider: "anthropic", baseURL: upstream.baseURL } },
      maxOutputTokens: 10_000,
    })
    const roomy = await post(running.origin, {}, chat("claude"))
    expect(roomy.status).toBe(200)
    await roomy.text()
    expect(upstream.requests.map((request) => request.body.max_tokens)).toEqual([1000, 4096])
    await upstream.close()
  })

  it("bodies past the app's size are refused with 413; a local client without a token is not counted", async () => {
    running = await startAI({ models: { demo: SLOW }, maxBodyBytes: 2000, maxConcurrentPerSubject: 1 })
    const big = await post(
      running.origin,
      {},
      chat("demo", { messages: [{ role: "user", content: "x".repeat(3000) }] }),
    )
    expect(big.status).toBe(413)
    expect(await big.json()).toMatchObject({ error: { type: "invalid_request_error" } })
    const both = await Promise.all([post(running.origin, {}, chat()), post(running.origin, {}, chat())])
    expect(both.map((response) => response.status)).toEqual([200, 200])
    for (const response of both) await response.body?.cancel()
  })
})

/** Two nodes of one store of `kind`, with auth and `options`. */
async function twoNodes(kind: EngineKind, options: Omit<Parameters<typeof startNodes>[1], "auth">) {
  const engine = kind.open()
  const { nodes, close } = await startNodes([engine, kind.nodeBeside(engine)], {
    heartbeatMs: 0,
    auth: { verifier: testVerifier() },
    ...options,
  })
  const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]]
  return { a, b, close }
}

describe("the concurrency count", () => {
  it("reads past the markers of generations that ended, to the open ones beyond them", async () => {
    const engine = createMemoryEngine()
    // Listed in name order: two ended generations' markers not cleared yet, then two running.
    for (const [id, open] of [
      ["aaaa", false],
      ["bbbb", false],
      ["cccc", true],
      ["dddd", true],
    ] as const) {
      await engine.create(runningMarker("alice", id), { owner: "node" })
      await engine.create(generationLog(id), { owner: "node" })
      if (!open) await engine.append(generationLog(id), [{ data: "end" }], { close: true })
    }
    const limits = createSubjectLimits(engine, { maxConcurrent: 2, maxPerMinute: 100 }, Date.now)
    expect(await limits.admit("alice", "zzzz")).toMatchObject({ code: "concurrency_limit_exceeded" })
    await engine.append(generationLog("dddd"), [{ data: "end" }], { close: true })
    expect(isRefusal(await limits.admit("alice", "zzzz"))).toBe(false)
    await engine.close()
  })
})

describe("admissions on one node", () => {
  it("a burst of one subject's requests is admitted, one at a time, none refused for contention", async () => {
    const engine = createMemoryEngine()
    const limits = createSubjectLimits(engine, { maxConcurrent: 100, maxPerMinute: 1000 }, Date.now)
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, () => limits.admit("alice", newGenerationId())),
    )
    expect(outcomes.filter(isRefusal)).toEqual([])
    await engine.close()
  })

  it("an admission whose generation never started is not counted by its node", async () => {
    const engine = createMemoryEngine()
    const limits = createSubjectLimits(engine, { maxConcurrent: 1, maxPerMinute: 100 }, Date.now)
    const first = await limits.admit("alice", newGenerationId())
    if (isRefusal(first)) throw new Error("refused")
    first.release()
    expect(isRefusal(await limits.admit("alice", newGenerationId()))).toBe(false)
    await engine.close()
  })

  it("admits past a writer sequence left ahead of the log's end (a log made again after it expired)", async () => {
    const engine = createMemoryEngine()
    const settings = { maxConcurrent: 10, maxPerMinute: 100 }
    const config = { ttlMs: 60_000, retention: { maxEntries: 100, maxAgeMs: 60_000 } }
    await engine.append(subjectScopedLog("ai/rate/", "alice", ""), [{ data: newGenerationId() }], {
      create: config,
      writerSeq: "0000000000000009",
    })
    const limits = createSubjectLimits(engine, settings, Date.now)
    for (let i = 0; i < 3; i++) expect(isRefusal(await limits.admit("alice", newGenerationId()))).toBe(false)
    await engine.close()
  })
})

const ENGINES = await testEngines("limits")

for (const kind of ENGINES) {
  // The starts per minute and the prompts are logs of the engine.
  describe.skipIf(!kind.available)(`on the ${kind.name} engine`, () => {
    describe("admissions at the same instant on two nodes", () => {
      /**
       * Admits `ids` for one subject on two nodes of one store at once, each node's read of the
       * subject's admissions held until both read them: the race a count-then-append would lose.
       */
      const raceOnTwoNodes = async (settings: SubjectLimitSettings) => {
        const engine = kind.open()
        let reads = 0
        let bothRead: () => void = () => {}
        const barrier = new Promise<void>((resolve) => {
          bothRead = resolve
        })
        const racing = (target: Engine): Engine =>
          new Proxy(target, {
            get: (inner, name) => {
              const value = Reflect.get(inner, name, inner)
              if (name !== "read") return typeof value === "function" ? value.bind(inner) : value
              return async (...args: Parameters<Engine["read"]>) => {
                const result = await inner.read(...args)
                if (args[0].startsWith("ai/rate/") && reads < 2) {
                  if (++reads === 2) bothRead()
                  await barrier
                }
                return result
              }
            },
          })
        const beside = kind.nodeBeside(engine)
        try {
          const [a, b] = [engine, beside].map((node) => createSubjectLimits(racing(node), settings, Date.now))
          return await Promise.all([
            a?.admit("alice", newGenerationId()),
            b?.admit("alice", newGenerationId()),
          ])
        } finally {
          for (const node of new Set([engine, beside])) await node.close()
        }
      }

      it("pass no more generations than the subject may run at once", async () => {
        const outcomes = await raceOnTwoNodes({ maxConcurrent: 1, maxPerMinute: 100 })
        expect(outcomes.filter((outcome) => outcome !== undefined && !isRefusal(outcome))).toHaveLength(1)
        expect(outcomes.find((outcome) => outcome !== undefined && isRefusal(outcome))).toMatchObject({
          code: "concurrency_limit_exceeded",
        })
      })

      it("pass no more starts than the subject may make per minute", async () => {
        const outcomes = await raceOnTwoNodes({ maxConcurrent: 10, maxPerMinute: 1 })
        expect(outcomes.filter((outcome) => outcome !== undefined && !isRefusal(outcome))).toHaveLength(1)
        expect(outcomes.find((outcome) => outcome !== undefined && isRefusal(outcome))).toMatchObject({
          code: "rate_limit_exceeded",
        })
      })
    })

    describe("limits per subject and per app", () => {
      it("starts per minute are counted across the nodes of one store", async () => {
        const { a, b, close } = await twoNodes(kind, { models: { demo: FAST }, maxPerMinutePerSubject: 3 })
        try {
          const alice = await bearer()
          for (const origin of [a.origin, a.origin, b.origin]) {
            const response = await post(origin, alice, chat())
            expect(response.status).toBe(200)
            await response.text()
          }
          const refused = await post(b.origin, alice, chat())
          expect(refused.status).toBe(429)
          expect(await refused.json()).toMatchObject({ error: { code: "rate_limit_exceeded" } })
          const wait = Number(refused.headers.get("retry-after"))
          expect(wait).toBeGreaterThan(55)
          expect(wait).toBeLessThanOrEqual(60)
          expect(Number(refused.headers.get("retry-after-ms"))).toBeLessThanOrEqual(60_000)
          // Counted per subject.
          expect((await post(a.origin, await bearer("urn:test:bob"), chat())).status).toBe(200)
        } finally {
          await close()
        }
      })

      it("a subject at its concurrency limit may start again as soon as it read its last answer's end", async () => {
        // A node clears an ended generation's marker after storing its end, which its client may
        // have read already: held back here, so that the next request always finds it.
        const slowToUnmark = (): Engine => {
          const engine = kind.open()
          return new Proxy(engine, {
            get: (target, name) =>
              name === "delete"
                ? async (log: string) => {
                    if (log.startsWith("ai/run/")) await new Promise((resolve) => setTimeout(resolve, 300))
                    return target.delete(log)
                  }
                : Reflect.get(target, name, target).bind(target),
          })
        }
        running = await startAI({
          openEngine: slowToUnmark,
          models: { demo: FAST },
          auth: true,
          maxConcurrentPerSubject: 1,
        })
        const alice = await bearer()
        // As a tool loop does: the next request leaves the moment the answer ended.
        for (let turn = 0; turn < 3; turn++) {
          const response = await post(running.origin, alice, chat())
          expect(response.status).toBe(200)
          expect(await response.text()).toContain("[DONE]")
        }
      })

      it("concurrent generations are counted across the nodes of one store", async () => {
        const { a, b, close } = await twoNodes(kind, { models: { demo: SLOW }, maxConcurrentPerSubject: 2 })
        try {
          const alice = await bearer()
          const first = await post(a.origin, alice, chat())
          const second = await post(b.origin, alice, chat())
          expect([first.status, second.status]).toEqual([200, 200])
          for (const origin of [a.origin, b.origin]) {
            const refused = await post(origin, alice, chat())
            expect(refused.status).toBe(429)
            expect(await refused.json()).toMatchObject({ error: { code: "concurrency_limit_exceeded" } })
          }
          // Counted per subject.
          const bob = await post(b.origin, await bearer("urn:test:bob"), chat())
          expect(bob.status).toBe(200)
          await bob.body?.cancel()
          // Once the one on a is cancelled (from b), b has a place again.
          const id = first.headers.get("herald-generation-id")
          expect((await post(b.origin, alice, {}, `/v1/generations/${id}/cancel`)).status).toBe(200)
          await expect
            .poll(
              async () => {
                const again = await post(b.origin, alice, chat())
                await again.body?.cancel()
                return again.status
              },
              { timeout: 3000, interval: 20 },
            )
            .toBe(200)
          for (const response of [first, second]) await response.body?.cancel()
        } finally {
          await close()
        }
      })

      it("keeps a generation's prompt for include=prompt, inline images as their type; storePrompts: false keeps none", async () => {
        const body = {
          model: "demo",
          stream: false,
          messages: [
            { role: "system", content: "Be brief." },
            {
              role: "user",
              content: [
                { type: "text", text: "What is this?" },
                { type: "image_url", image_url: { url: PNG } },
              ],
            },
          ],
        }
        running = await startAI({ openEngine: kind.open, models: { demo: FAST } })
        const kept = await post(running.origin, {}, body)
        const id = kept.headers.get("herald-generation-id")
        await kept.text()
        const state = (await (
          await fetch(`${running.origin}/v1/generations/${id}?include=prompt`)
        ).json()) as {
          prompt: unknown
        }
        expect(state.prompt).toEqual({
          system: "Be brief.",
          messages: [
            {
              role: "user",
              content: [
                { type: "text", text: "What is this?" },
                { type: "image", url: "data:image/png" },
              ],
            },
          ],
        })
        expect(await (await fetch(`${running.origin}/v1/generations/${id}`)).json()).not.toHaveProperty(
          "prompt",
        )
        await running.close()

        running = await startAI({ openEngine: kind.open, models: { demo: FAST }, storePrompts: false })
        const unkept = await post(running.origin, {}, body)
        const unkeptId = unkept.headers.get("herald-generation-id")
        await unkept.text()
        const none = (await (
          await fetch(`${running.origin}/v1/generations/${unkeptId}?include=prompt`)
        ).json()) as {
          prompt: unknown
        }
        expect(none.prompt).toBeNull()
        expect((await running.engine.list({ prefix: "ai/prompt/", limit: 10 })).logs).toEqual([])
      })
    })
  })
}
