// The reasoning memory (src/ai/reasoning-memory.ts): a tool turn a client sends back without the
// reasoning its thinking model needs gets it back from the generation that made its calls. Real
// clients that drop it (LangChain's ChatOpenAI, the `openai` SDK used with plain messages, the
// Anthropic SDK for a signature Messages has no place for) against loopback upstreams that
// replay Claude's, OpenRouter's and Gemini's frames and check what comes back, as those models do.
import Anthropic from "@anthropic-ai/sdk"
import type { UIMessage } from "ai"
import OpenAI from "openai"
import { describe, expect, it } from "vitest"
import type { Answer } from "../../src/ai/answer.js"
import type { AssistantMessage, NormalizedMessage } from "../../src/ai/request.js"
import { bareToolTurns, MAX_RESTORED_TURNS, restoredTurn } from "../../src/ai/restored-turn.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { EngineUnavailableError } from "../../src/engine/unavailable.js"
import { recordingLogger } from "../server/helpers.js"
import { aiToken, closedAfterEach, closeServers, startAI, startNodes } from "./ai-server.js"
import { testEngines } from "./engines.js"
import { langChainToolLoop, WEATHER_PARAMETERS } from "./langchain-tool-loop.js"
import { finalUIMessage } from "./ui-message-stream.js"
import {
  ANTHROPIC_OK,
  answerInTurn,
  CLAUDE_BLOCKS_BACK,
  CLAUDE_OMITTED_THINKING_BACK,
  CLAUDE_OMITTED_THINKING_THEN_TOOL,
  CLAUDE_THINKING_THEN_TOOL,
  OPENAI_OK,
  openaiChunk,
  startUpstream,
} from "./upstream.js"

const servers = closedAfterEach()

/** OpenRouter's answer of `details`, then the weather call `id` with `args`. */
function openRouterCall(details: Record<string, unknown>[], id: string, args: string): string[] {
  return [
    openaiChunk({ role: "assistant", content: "", reasoning_details: details }),
    openaiChunk({
      tool_calls: [{ index: 0, id, type: "function", function: { name: "weather", arguments: args } }],
    }),
    openaiChunk({}, "tool_calls"),
    "data: [DONE]\n\n",
  ]
}

/** OpenAI's reasoning through OpenRouter, as it wants it back: a summary and the encrypted item. */
const OPENROUTER_OPENAI_DETAILS = [
  { type: "reasoning.summary", summary: "Planning.", format: "openai-responses-v1", index: 0 },
  { type: "reasoning.encrypted", data: "gAAA", id: "rs_1", format: "openai-responses-v1", index: 0 },
]

/** That reasoning, then a weather call. */
const OPENROUTER_OPENAI_CALL = openRouterCall(OPENROUTER_OPENAI_DETAILS, "call_1", '{"city":"Oslo"}')

/** Gemini 3's call whose thought signature comes after the call's start. */
const GEMINI_LATE_SIGNATURE = [
  openaiChunk({ tool_calls: [{ index: 0, id: "call_g", type: "function", function: { name: "weather" } }] }),
  openaiChunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Oslo"}' } }] }),
  openaiChunk({ tool_calls: [{ index: 0, extra_content: { google: { thought_signature: "sig-late" } } }] }),
  openaiChunk({}, "tool_calls"),
  "data: [DONE]\n\n",
]

/**
 * Herald in front of an upstream answering `first`, then `then` to every later request; with
 * `options` for the AI handler (the memory is on by default).
 */
async function heraldOver(
  kind: "anthropic" | "openai",
  first: string[],
  then: string[],
  model: Record<string, unknown> = {},
  options: Parameters<typeof startAI>[0] = {},
): Promise<string> {
  const upstream = await startUpstream()
  servers.upstream = upstream
  answerInTurn(upstream, first, then)
  const running = await startAI({
    models: { m: { provider: kind, baseURL: upstream.baseURL, ...model } },
    ...options,
  })
  servers.running = running
  return running.origin
}

/** The assistant turn of the upstream's request `n` (0-based), as it got it. */
function turnSentBack(n = 1): Record<string, unknown> {
  const messages = servers.upstream?.requests[n]?.body.messages as Record<string, unknown>[] | undefined
  const turn = messages?.find((message) => message.role === "assistant")
  if (turn === undefined) throw new Error(`the upstream's request ${n} has no assistant turn`)
  return turn
}

const WEATHER = { type: "function" as const, function: { name: "weather", parameters: WEATHER_PARAMETERS } }

/** LangChain's tool loop asking for thinking (`reasoning_effort`, which Claude gets as adaptive thinking). */
const thinkingLangChainLoop = (origin: string, streamed: boolean) =>
  langChainToolLoop(origin, { model: "m", streamed, modelKwargs: { reasoning_effort: "high" } })

/** The `openai` SDK on `origin`, authenticated by `token`. */
const openai = (origin: string, token = "unused") =>
  new OpenAI({ baseURL: `${origin}/v1`, apiKey: token, maxRetries: 0 })

const QUESTION = { role: "user" as const, content: "Umbrella in Oslo?" }

/**
 * Sends a tool turn as an app that stores plain messages does: the assistant turn keeps its
 * content and calls only. Resolves with the answer's text.
 */
async function sendToolTurn(
  origin: string,
  call: { id: string; name: string; arguments: string },
  token?: string,
): Promise<string | null | undefined> {
  const next = await openai(origin, token).chat.completions.create({
    model: "m",
    tools: [WEATHER],
    messages: [
      QUESTION,
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } },
        ],
      },
      { role: "tool", tool_call_id: call.id, content: "12 °C" },
    ],
  })
  return next.choices[0]?.message.content
}

/** The `openai` SDK's tool loop with plain messages: asks on `origin`, sends the tool turn to `sendTo`. */
async function plainMessagesToolLoop(origin: string, sendTo = origin, token?: string): Promise<unknown> {
  const first = await openai(origin, token).chat.completions.create({
    model: "m",
    messages: [QUESTION],
    tools: [WEATHER],
  })
  const call = first.choices[0]?.message.tool_calls?.[0]
  if (call?.type !== "function") throw new Error("no tool call")
  return sendToolTurn(sendTo, { id: call.id, ...call.function }, token)
}

describe("a tool turn sent back without its reasoning", () => {
  it("gets Claude's signed and encrypted thinking back for LangChain's ChatOpenAI, whole and streamed", async () => {
    for (const streamed of [false, true]) {
      const origin = await heraldOver("anthropic", CLAUDE_THINKING_THEN_TOOL, ANTHROPIC_OK)
      expect(await thinkingLangChainLoop(origin, streamed)).toBe("Ok.")
      expect(turnSentBack().content).toEqual(CLAUDE_BLOCKS_BACK)
      expect(servers.upstream?.requests[1]?.body.thinking).toEqual({ type: "adaptive" })
      await closeServers(servers)
    }
  })

  it("goes back bare with the memory turned off, and Claude is asked without thinking", async () => {
    const origin = await heraldOver(
      "anthropic",
      CLAUDE_THINKING_THEN_TOOL,
      ANTHROPIC_OK,
      {},
      { rememberReasoning: false },
    )
    await thinkingLangChainLoop(origin, false)
    expect(turnSentBack().content).toEqual([CLAUDE_BLOCKS_BACK[2]])
    // Claude would refuse thinking with this turn ("must start with a thinking block").
    expect(servers.upstream?.requests[1]?.body.thinking).toBeUndefined()
  })

  it("gets Claude's thinking back for useChat messages an app stored without their provider metadata", async () => {
    const origin = await heraldOver("anthropic", CLAUDE_THINKING_THEN_TOOL, ANTHROPIC_OK)
    const user: UIMessage = { id: "u1", role: "user", parts: [{ type: "text", text: "Umbrella in Oslo?" }] }
    const post = (messages: unknown[]) =>
      fetch(`${origin}/v1/ai-sdk/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          id: "chat-stored",
          messages,
          trigger: "submit-message",
          reasoningEffort: "high",
        }),
      })
    const answer = await finalUIMessage(await post([user]))
    if (answer === undefined) throw new Error("no answer")
    // As stored in a table of plain parts: the reasoning's text, the call and its output, no metadata.
    const stored = {
      ...answer,
      parts: answer.parts.map((part) => {
        const {
          providerMetadata: _meta,
          callProviderMetadata: _callMeta,
          ...plain
        } = part as Record<string, unknown>
        return part.type === "tool-weather" ? { ...plain, state: "output-available", output: "12 °C" } : plain
      }),
    }
    expect(JSON.stringify(stored)).not.toContain("SIG_1")
    const next = await post([user, stored])
    expect(next.status).toBe(200)
    await next.text()
    expect(turnSentBack().content).toEqual(CLAUDE_BLOCKS_BACK)
    expect(servers.upstream?.requests[1]?.body.thinking).toEqual({ type: "adaptive" })
  })

  it("gets Claude's omitted thinking back as the blocks it came in, each with its own signature", async () => {
    const origin = await heraldOver("anthropic", CLAUDE_OMITTED_THINKING_THEN_TOOL, ANTHROPIC_OK)
    expect(await plainMessagesToolLoop(origin)).toBe("Ok.")
    expect(turnSentBack().content).toEqual([
      ...CLAUDE_OMITTED_THINKING_BACK,
      { type: "tool_use", id: "toolu_1", name: "weather", input: { city: "Oslo" } },
    ])
  })

  it("makes a request a 503 when the store is out of reach for its lookup, and nothing else", async () => {
    const engine = createMemoryEngine()
    let away = false
    // The store goes away for the memory's records only: the rest of the request would go through.
    const head = engine.head.bind(engine)
    engine.head = async (log) => {
      if (away && log.startsWith("ai/call/")) throw new EngineUnavailableError("connection refused")
      return head(log)
    }
    const origin = await heraldOver(
      "openai",
      OPENROUTER_OPENAI_CALL,
      OPENAI_OK,
      { reasoningDetails: true },
      { openEngine: () => engine, logger: recordingLogger() },
    )
    const first = await openai(origin).chat.completions.create({
      model: "m",
      messages: [QUESTION],
      tools: [WEATHER],
    })
    const call = first.choices[0]?.message.tool_calls?.[0]
    if (call?.type !== "function") throw new Error("no tool call")
    away = true
    const refused = sendToolTurn(origin, { id: call.id, ...call.function })
    await expect(refused).rejects.toMatchObject({ status: 503 })
    expect(servers.upstream?.requests).toHaveLength(1)
    away = false
    expect(await sendToolTurn(origin, { id: call.id, ...call.function })).toBe("Ok.")
    expect(turnSentBack(1).reasoning_details).toEqual(OPENROUTER_OPENAI_DETAILS)
  })

  it("gets a Gemini signature that came after its call's start back for the Anthropic SDK", async () => {
    const origin = await heraldOver("openai", GEMINI_LATE_SIGNATURE, OPENAI_OK, { thoughtSignatures: true })
    const client = new Anthropic({ baseURL: origin, apiKey: "unused", maxRetries: 0 })
    const ask = {
      model: "m",
      max_tokens: 100,
      tools: [{ name: "weather", input_schema: WEATHER_PARAMETERS }],
    }
    const question = { role: "user" as const, content: "Umbrella in Oslo?" }
    const answer = await client.messages.stream({ ...ask, messages: [question] }).finalMessage()
    const call = answer.content.find((block) => block.type === "tool_use")
    // Messages has no place for it, and the streamed id was made before it came.
    expect(call?.id).toBe("call_g")
    const next = await client.messages.create({
      ...ask,
      messages: [
        question,
        { role: "assistant", content: answer.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "call_g", content: "12 °C" }] },
      ],
    })
    expect(next.content).toMatchObject([{ type: "text", text: "Ok." }])
    expect(turnSentBack().tool_calls).toMatchObject([
      { id: "call_g", extra_content: { google: { thought_signature: "sig-late" } } },
    ])
  })
})

const ENGINES = await testEngines("reasoning-memory")

for (const kind of ENGINES) {
  // The records are logs of the engine, written by one node and read by any.
  describe.skipIf(!kind.available)(
    `on the ${kind.name} engine, a tool turn sent back without its reasoning`,
    () => {
      /** Herald over OpenRouter's OpenAI answer on `kind`'s engine; `options` for the handler. */
      const heraldOverOpenRouter = (options: Parameters<typeof startAI>[0] = {}) =>
        heraldOver(
          "openai",
          OPENROUTER_OPENAI_CALL,
          OPENAI_OK,
          { reasoningDetails: true },
          {
            openEngine: kind.open,
            ...options,
          },
        )

      it("gets OpenRouter's encrypted OpenAI reasoning back for an app storing plain messages", async () => {
        const origin = await heraldOverOpenRouter()
        expect(await plainMessagesToolLoop(origin)).toBe("Ok.")
        expect(turnSentBack()).toMatchObject({
          reasoning_details: OPENROUTER_OPENAI_DETAILS,
          tool_calls: [{ id: "call_1", function: { name: "weather", arguments: '{"city":"Oslo"}' } }],
        })
      })

      it("is given back on another node sharing the store", async () => {
        const upstream = await startUpstream()
        servers.upstream = upstream
        answerInTurn(upstream, OPENROUTER_OPENAI_CALL, OPENAI_OK)
        const engine = kind.open()
        const cluster = await startNodes([engine, kind.nodeBeside(engine)], {
          models: { m: { provider: "openai", baseURL: upstream.baseURL, reasoningDetails: true } },
          heartbeatMs: 0,
        })
        try {
          const [a, b] = cluster.nodes
          if (a === undefined || b === undefined) throw new Error("two nodes expected")
          expect(await plainMessagesToolLoop(a.origin, b.origin)).toBe("Ok.")
          expect(turnSentBack().reasoning_details).toEqual(OPENROUTER_OPENAI_DETAILS)
        } finally {
          await cluster.close()
        }
      })

      it("gives each bare turn of a loop its own generation's reasoning", async () => {
        const upstream = await startUpstream()
        servers.upstream = upstream
        const secondDetails = [
          { type: "reasoning.encrypted", data: "gBBB", id: "rs_2", format: "openai-responses-v1", index: 0 },
        ]
        const secondCall = openRouterCall(secondDetails, "call_2", '{"city":"Bergen"}')
        answerInTurn(upstream, OPENROUTER_OPENAI_CALL, secondCall, OPENAI_OK)
        const running = await startAI({
          openEngine: kind.open,
          models: { m: { provider: "openai", baseURL: upstream.baseURL, reasoningDetails: true } },
        })
        servers.running = running
        const client = openai(running.origin)
        const messages: OpenAI.ChatCompletionMessageParam[] = [QUESTION]
        for (let step = 0; step < 3; step++) {
          const answer = await client.chat.completions.create({ model: "m", messages, tools: [WEATHER] })
          const call = answer.choices[0]?.message.tool_calls?.[0]
          if (call?.type !== "function") break
          // Kept as plain messages: the calls only.
          messages.push(
            {
              role: "assistant",
              content: null,
              tool_calls: [{ id: call.id, type: "function", function: call.function }],
            },
            { role: "tool", tool_call_id: call.id, content: "12 °C" },
          )
        }
        const last = servers.upstream?.requests[2]?.body.messages as Record<string, unknown>[]
        const turns = last.filter((message) => message.role === "assistant")
        expect(turns.map((turn) => turn.reasoning_details)).toEqual([
          OPENROUTER_OPENAI_DETAILS,
          secondDetails,
        ])
      })

      it("is not remembered for a token without a subject, which owns nothing", async () => {
        const origin = await heraldOverOpenRouter({ auth: true })
        const anonymous = await aiToken(["generate"], { subject: null })
        await plainMessagesToolLoop(origin, origin, anonymous)
        expect(turnSentBack(1).reasoning_details).toBeUndefined()
      })

      it("is not given another subject's reasoning, nor reasoning for calls that are not the ones made", async () => {
        const origin = await heraldOverOpenRouter({ auth: true })
        const alice = await aiToken(["generate"], { subject: "urn:test:alice" })
        const bob = await aiToken(["generate"], { subject: "urn:test:bob" })
        await plainMessagesToolLoop(origin, origin, alice)
        expect(turnSentBack(1).reasoning_details).toEqual(OPENROUTER_OPENAI_DETAILS)
        // Bob sends a turn naming Alice's call; Alice one whose arguments are not the call's.
        const made = { id: "call_1", name: "weather", arguments: '{"city":"Oslo"}' }
        await sendToolTurn(origin, made, bob)
        expect(turnSentBack(2).reasoning_details).toBeUndefined()
        await sendToolTurn(origin, { ...made, arguments: '{"city":"Bergen"}' }, alice)
        expect(turnSentBack(3).reasoning_details).toBeUndefined()
        await sendToolTurn(origin, made, alice)
        expect(turnSentBack(4).reasoning_details).toEqual(OPENROUTER_OPENAI_DETAILS)
        // What the memory did, for an operator: the metric counts each bare turn's outcome.
        const metrics = (await servers.running?.ai.metrics.metrics()) ?? ""
        const count = (outcome: string) =>
          Number(
            metrics.match(
              new RegExp(`herald_ai_bare_tool_turns_total\\{outcome="${outcome}"\\} (\\d+)`),
            )?.[1] ?? 0,
          )
        expect(["restored", "unknown", "other", "failed"].map(count)).toEqual([2, 1, 1, 0])
      })
    },
  )
}

/** An answer of `blocks`, nothing else. */
const answerOf = (blocks: Answer["blocks"], reasoningDetails: Answer["reasoningDetails"] = []): Answer => ({
  blocks,
  reasoningDetails,
  finish: undefined,
  usage: { type: "usage" },
  error: undefined,
  end: undefined,
})

describe("restoredTurn", () => {
  const call = (id: string, args = "{}") => ({ type: "tool-call" as const, id, name: "f", arguments: args })
  const made = (id: string, args = "{}") => ({ type: "tool_call" as const, id, name: "f", arguments: args })

  it("puts thinking where it came: before the first call, or after the call it followed", () => {
    const turn: AssistantMessage = {
      role: "assistant",
      content: [{ type: "text", text: "Hm." }, call("a"), call("b")],
    }
    const restored = restoredTurn(
      turn,
      answerOf([
        { type: "thinking", thinking: "one", signature: "S1" },
        { type: "text", text: "Hm." },
        made("a"),
        { type: "thinking", thinking: "two", signature: "S2" },
        { type: "thinking", thinking: "unsigned", signature: "" },
        made("b"),
      ]),
    )
    expect(restored?.content).toEqual([
      { type: "reasoning", text: "one", signature: "S1" },
      { type: "text", text: "Hm." },
      call("a"),
      { type: "reasoning", text: "two", signature: "S2" },
      call("b"),
    ])
  })

  it("replaces the client's unsigned reasoning with the signed, and takes re-serialized arguments as the same", () => {
    const turn: AssistantMessage = {
      role: "assistant",
      content: [{ type: "reasoning", text: "one" }, call("a", '{ "x": 1 }')],
    }
    const restored = restoredTurn(
      turn,
      answerOf([{ type: "thinking", thinking: "one", signature: "S1" }, made("a", '{"x":1}')]),
    )
    expect(restored?.content).toEqual([
      { type: "reasoning", text: "one", signature: "S1" },
      call("a", '{ "x": 1 }'),
    ])
  })

  it("parses no arguments past the bounds on a client's JSON: the turn's calls' arguments, the model's and the client's, hold 200 000 values at most", () => {
    /** Arguments of `count` values (`x` and its items), re-serialized with `separator`. */
    const args = (count: number, separator = ",") =>
      `{"x":[${Array(count - 1)
        .fill("0")
        .join(separator)}]}`
    /** A turn of calls `a`, `b`… whose arguments hold `counts` values, and the answer that made them. */
    const compare = (...counts: number[]) => {
      const ids = counts.map((_, at) => String.fromCharCode(97 + at))
      const turn: AssistantMessage = {
        role: "assistant",
        content: counts.map((count, at) => call(ids[at] as string, args(count, ", "))),
      }
      const answer = answerOf(
        counts.map((count, at) => ({ ...made(ids[at] as string, args(count)), thoughtSignature: "G" })),
      )
      return restoredTurn(turn, answer)
    }
    // The same once parsed: compared, 100 000 values a side are the same, 100 001 are not read.
    expect(compare(100_000)).toBeDefined()
    expect(compare(100_001)).toBeUndefined()
    expect(compare(50_000, 50_000)).toBeDefined()
    expect(compare(50_000, 50_001)).toBeUndefined()
  })

  it("gives calls their signatures and puts details first; gives nothing for other calls or nothing to give", () => {
    const turn: AssistantMessage = { role: "assistant", content: [call("a")] }
    const signed = answerOf(
      [{ ...made("a"), thoughtSignature: "G" }],
      [{ type: "reasoning.encrypted", data: "e" }],
    )
    expect(restoredTurn(turn, signed)?.content).toEqual([
      { type: "reasoning-details", details: [{ type: "reasoning.encrypted", data: "e" }] },
      { ...call("a"), thoughtSignature: "G" },
    ])
    expect(restoredTurn(turn, answerOf([made("a")]))).toBeUndefined()
    expect(restoredTurn(turn, answerOf([{ ...made("a", '{"x":2}'), thoughtSignature: "G" }]))).toBeUndefined()
    expect(restoredTurn(turn, answerOf([{ ...made("a"), thoughtSignature: "G" }, made("b")]))).toBeUndefined()
    expect(restoredTurn(turn, answerOf([{ ...made("a"), name: "g", thoughtSignature: "G" }]))).toBeUndefined()
    // Two calls naming one: not the answer's two calls.
    const twice: AssistantMessage = { role: "assistant", content: [call("a"), call("a")] }
    const two = answerOf([{ ...made("a"), thoughtSignature: "G" }, made("b")])
    expect(restoredTurn(twice, two)).toBeUndefined()
  })
})

describe("bareToolTurns", () => {
  const user: NormalizedMessage = { role: "user", content: [{ type: "text", text: "q" }] }
  const bare: NormalizedMessage = {
    role: "assistant",
    content: [{ type: "tool-call", id: "a", name: "f", arguments: "{}" }],
  }
  const result: NormalizedMessage = { role: "tool", toolCallId: "a", content: "r" }

  it("are the tool turns of the loop under way that kept nothing to go back", () => {
    const kept: NormalizedMessage = {
      role: "assistant",
      content: [{ type: "redacted-reasoning", data: "E" }, ...(bare.content as AssistantMessage["content"])],
    }
    const text: NormalizedMessage = { role: "assistant", content: [{ type: "text", text: "t" }] }
    expect(bareToolTurns([user, bare, result, text, user, bare, result, kept, result, bare, result])).toEqual(
      [5, 9],
    )
    expect(bareToolTurns([user, bare, result, text, user])).toEqual([])
    // Text beside tool results (user messages right after them) does not end the loop.
    expect(bareToolTurns([user, bare, result, user, bare, result])).toEqual([1, 4])
    expect(bareToolTurns([user, bare, result, user, user, bare, result])).toEqual([1, 5])
  })

  it("are at most MAX_RESTORED_TURNS: the loop's first, where Claude looks for its thinking, and the latest", () => {
    const loop = Array.from({ length: MAX_RESTORED_TURNS + 8 }, () => [bare, result]).flat()
    const turns = bareToolTurns([user, ...loop])
    expect(turns).toHaveLength(MAX_RESTORED_TURNS)
    expect(turns[0]).toBe(1)
    expect(turns.at(-1)).toBe(loop.length - 1)
    expect(turns[1]).toBe(loop.length - 1 - 2 * (MAX_RESTORED_TURNS - 2))
  })
})
