// One tool loop of LangChain's ChatOpenAI against Herald: a question, the weather call it
// answers, and the question again with the call's result. LangChain keeps a call's id, name and
// arguments and drops the fields it does not know, which is what these tests are about.
import { type AIMessageChunk, HumanMessage, ToolMessage } from "@langchain/core/messages"
import { ChatOpenAI } from "@langchain/openai"

/** The weather tool's parameters, as the tests' upstreams are asked for them. */
export const WEATHER_PARAMETERS = {
  type: "object" as const,
  properties: { city: { type: "string" } },
  required: ["city"],
}

/**
 * Runs the loop on `origin`'s model `model`, its first answer whole or `streamed` (chunks
 * joined); `modelKwargs` go in every request body. Resolves with the final answer's content.
 */
export async function langChainToolLoop(
  origin: string,
  options: {
    readonly model: string
    readonly streamed: boolean
    readonly modelKwargs?: Record<string, unknown>
  },
): Promise<unknown> {
  const model = new ChatOpenAI({
    model: options.model,
    apiKey: "unused",
    maxRetries: 0,
    configuration: { baseURL: `${origin}/v1` },
    ...(options.modelKwargs === undefined ? {} : { modelKwargs: options.modelKwargs }),
  }).bindTools([{ type: "function", function: { name: "weather", parameters: WEATHER_PARAMETERS } }])
  const question = new HumanMessage("Umbrella in Oslo?")
  let answer: AIMessageChunk | undefined
  if (options.streamed)
    for await (const chunk of await model.stream([question])) answer = answer?.concat(chunk) ?? chunk
  else answer = await model.invoke([question])
  const call = answer?.tool_calls?.[0]
  if (answer === undefined || call?.id === undefined) throw new Error("no tool call")
  const result = new ToolMessage({ tool_call_id: call.id, content: "12 °C, rain" })
  return (await model.invoke([question, answer, result])).content
}
