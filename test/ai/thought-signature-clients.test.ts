// Gemini 3's thought signature through clients that keep nothing of a tool call but its id, name
// and arguments: LangChain's ChatOpenAI and the AI SDK's openai-compatible provider, each running
// a real tool loop against Herald in front of a loopback upstream that replays Gemini's frames.
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai"
import { describe, expect, it } from "vitest"
import { closedAfterEach, closeServers, startAI } from "./ai-server.js"
import { langChainToolLoop, WEATHER_PARAMETERS } from "./langchain-tool-loop.js"
import { answerInTurn, openaiChunk, startUpstream } from "./upstream.js"

const servers = closedAfterEach()

/** Gemini's first answer: a signed call, whole in one chunk; its second: text. */
const SIGNED_CALL = [
  openaiChunk({
    tool_calls: [
      {
        id: "function-call-1",
        type: "function",
        function: { name: "weather", arguments: '{"city":"Oslo"}' },
        extra_content: { google: { thought_signature: "CiQB0e2Kb/sig+A==" } },
      },
    ],
  }),
  openaiChunk({}, "tool_calls"),
  "data: [DONE]\n\n",
]
const TEXT = [openaiChunk({ content: "Rain." }), openaiChunk({}, "stop"), "data: [DONE]\n\n"]

/** Herald in front of a Gemini-like upstream (its model set to take signatures back); its origin. */
async function heraldOverGemini(): Promise<string> {
  const upstream = await startUpstream()
  servers.upstream = upstream
  answerInTurn(upstream, SIGNED_CALL, TEXT)
  const running = await startAI({
    models: { gemini: { provider: "openai", baseURL: upstream.baseURL, thoughtSignatures: true } },
  })
  servers.running = running
  return running.origin
}

/** The second upstream request's assistant turn and tool result, as the upstream got them. */
function sentBack(): { call: Record<string, unknown>; result: Record<string, unknown> } {
  const messages = servers.upstream?.requests[1]?.body.messages as Record<string, unknown>[] | undefined
  if (messages === undefined) throw new Error("the upstream got no second request")
  const turn = messages.find((message) => message.role === "assistant")
  const result = messages.find((message) => message.role === "tool")
  const call = (turn?.tool_calls as Record<string, unknown>[] | undefined)?.[0]
  if (call === undefined || result === undefined) throw new Error("no tool turn sent back")
  return { call, result }
}

/** The upstream got back its own call id, on the call and the result, and the call's signature. */
function expectSignatureSentBack(): void {
  const { call, result } = sentBack()
  expect(call).toMatchObject({
    id: "function-call-1",
    extra_content: { google: { thought_signature: "CiQB0e2Kb/sig+A==" } },
  })
  expect(result.tool_call_id).toBe("function-call-1")
}

describe("Gemini's thought signature through clients that keep only a call's id", () => {
  it("goes back with LangChain's ChatOpenAI tool loop, whole and streamed (its chunks joined)", async () => {
    for (const streamed of [false, true]) {
      const origin = await heraldOverGemini()
      expect(await langChainToolLoop(origin, { model: "gemini", streamed })).toBe("Rain.")
      expectSignatureSentBack()
      await closeServers(servers)
    }
  })

  it("goes back with the AI SDK's openai-compatible provider's tool loop, streamed and not", async () => {
    const ask = (origin: string) => ({
      model: createOpenAICompatible({ name: "herald", baseURL: `${origin}/v1`, apiKey: "unused" })("gemini"),
      prompt: "Umbrella in Oslo?",
      tools: {
        weather: tool({
          inputSchema: jsonSchema<{ city: string }>(WEATHER_PARAMETERS),
          execute: async () => "12 °C, rain",
        }),
      },
      stopWhen: stepCountIs(2),
    })
    const whole = await generateText(ask(await heraldOverGemini()))
    expect(whole.text).toBe("Rain.")
    expectSignatureSentBack()
    await closeServers(servers)
    const streamed = streamText(ask(await heraldOverGemini()))
    expect(await streamed.text).toBe("Rain.")
    expectSignatureSentBack()
  })
})
