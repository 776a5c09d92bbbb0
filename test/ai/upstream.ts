import { once } from "node:events"
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"
import type { Entry } from "../../src/ai/entries.js"

/** What the fake upstream received. */
export interface ReceivedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: Record<string, unknown>
}

/** How the fake upstream answers one request: the chunks to write, or full control. */
export type Answer =
  | { chunks: (string | Uint8Array)[]; status?: number; headers?: Record<string, string> }
  | ((response: ServerResponse, socket: Socket) => void)

/** A loopback HTTP server standing in for a provider; `answer` is read for each request. */
export interface Upstream {
  baseURL: string
  requests: ReceivedRequest[]
  answer: Answer
  /** The server-side socket of the latest request. */
  lastSocket: Socket | undefined
  close(): Promise<void>
}

/** Starts a fake upstream on an ephemeral loopback port; its base URL ends in `/v1`. */
export async function startUpstream(): Promise<Upstream> {
  let server: Server
  const upstream: Upstream = {
    baseURL: "",
    requests: [],
    answer: { chunks: [] },
    lastSocket: undefined,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  server = createServer(async (request, response) => {
    const parts: Buffer[] = []
    for await (const part of request) parts.push(part as Buffer)
    upstream.requests.push({
      method: request.method ?? "",
      path: request.url ?? "",
      headers: request.headers,
      body: JSON.parse(Buffer.concat(parts).toString("utf8")),
    })
    upstream.lastSocket = request.socket
    const answer = upstream.answer
    if (typeof answer === "function") {
      answer(response, request.socket)
      return
    }
    response.writeHead(answer.status ?? 200, { "content-type": "text/event-stream", ...answer.headers })
    // Each chunk its own write, after the previous one went out: the client sees them apart.
    for (const chunk of answer.chunks) {
      await new Promise<void>((resolve) => response.write(chunk, () => resolve()))
    }
    response.end()
  })
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  upstream.baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
  return upstream
}

/** Every entry of a stream, in order. */
export async function collect(entries: AsyncIterable<Entry>): Promise<Entry[]> {
  const all: Entry[] = []
  for await (const entry of entries) all.push(entry)
  return all
}

/** `text` cut in two at byte `at` (a cut may fall inside a UTF-8 character: the parser must hold it). */
export function splitAt(text: string, at: number): Uint8Array[] {
  const bytes = Buffer.from(text, "utf8")
  return [bytes.subarray(0, at), bytes.subarray(at)]
}

/** An OpenAI-style `chat.completion.chunk` frame with choice 0's `delta` and `finish_reason`. */
export function openaiChunk(delta: Record<string, unknown>, finishReason: string | null = null): string {
  return `data: ${JSON.stringify({ id: "up", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`
}

/** An Anthropic-style named event, its `type` repeated in the JSON as Anthropic does. */
export function anthropicEvent(type: string, fields: Record<string, unknown> = {}): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`
}

/** Anthropic's `message_start` of the fixtures' answers. */
export const ANTHROPIC_MESSAGE_START = anthropicEvent("message_start", {
  message: { id: "msg_up", type: "message", role: "assistant", content: [], model: "m", usage: {} },
})

/** An Anthropic content block at `index`: its `content_block_start`, a `content_block_delta` per delta, its `content_block_stop`. */
export function anthropicBlock(
  index: number,
  contentBlock: Record<string, unknown>,
  ...deltas: Record<string, unknown>[]
): string[] {
  return [
    anthropicEvent("content_block_start", { index, content_block: contentBlock }),
    ...deltas.map((delta) => anthropicEvent("content_block_delta", { index, delta })),
    anthropicEvent("content_block_stop", { index }),
  ]
}

/** The end of an Anthropic answer: `message_delta` with its stop reason and output tokens, then `message_stop`. */
export function anthropicEnd(stopReason: string, outputTokens: number): string[] {
  return [
    anthropicEvent("message_delta", {
      delta: { stop_reason: stopReason },
      usage: { output_tokens: outputTokens },
    }),
    anthropicEvent("message_stop"),
  ]
}

/** A whole Anthropic answer: the text "Ok." */
export const ANTHROPIC_OK = [
  ANTHROPIC_MESSAGE_START,
  ...anthropicBlock(0, { type: "text", text: "" }, { type: "text_delta", text: "Ok." }),
  ...anthropicEnd("end_turn", 2),
]

/** A whole OpenAI-style answer: the text "Ok." */
export const OPENAI_OK = [openaiChunk({ content: "Ok." }), openaiChunk({}, "stop"), "data: [DONE]\n\n"]

/** An OpenAI-style answer that fails after its 200: some text, then an error frame. */
export const OPENAI_ERROR_AFTER_TEXT = [
  openaiChunk({ content: "Partial" }),
  `data: ${JSON.stringify({ error: { message: "The server had an error", type: "server_error", code: null } })}\n\n`,
]

/** Claude's weather call at block `index`: `{"city":"Oslo"}`, streamed as one fragment. */
function weatherCall(index: number): string[] {
  return anthropicBlock(
    index,
    { type: "tool_use", id: "toolu_1", name: "weather", input: {} },
    { type: "input_json_delta", partial_json: '{"city":"Oslo"}' },
  )
}

/** Claude's answer to a weather question: a signed thinking block, an encrypted one, and a tool call. */
export const CLAUDE_THINKING_THEN_TOOL = [
  ANTHROPIC_MESSAGE_START,
  ...anthropicBlock(
    0,
    { type: "thinking", thinking: "" },
    { type: "thinking_delta", thinking: "Look it up." },
    { type: "signature_delta", signature: "SIG_1" },
  ),
  ...anthropicBlock(1, { type: "redacted_thinking", data: "ENC" }),
  ...weatherCall(2),
  ...anthropicEnd("tool_use", 9),
]

/** The blocks of {@link CLAUDE_THINKING_THEN_TOOL}'s turn as Claude wants them back: its thinking first, unchanged. */
export const CLAUDE_BLOCKS_BACK = [
  { type: "thinking", thinking: "Look it up.", signature: "SIG_1" },
  { type: "redacted_thinking", data: "ENC" },
  { type: "tool_use", id: "toolu_1", name: "weather", input: { city: "Oslo" } },
]

/** A thinking block with `display: "omitted"` at `index`: no text, only its signature. */
function omittedThinking(index: number, signature: string): string[] {
  return anthropicBlock(
    index,
    { type: "thinking", thinking: "", signature: "" },
    { type: "signature_delta", signature },
  )
}

/**
 * Claude thinking with `display: "omitted"` (no text, only signatures) before and after its web
 * search (a server tool's blocks, which Herald skips), then a weather call: two blocks, each
 * signed on its own.
 */
export const CLAUDE_OMITTED_THINKING_THEN_TOOL = [
  ANTHROPIC_MESSAGE_START,
  ...omittedThinking(0, "SIG_ONE"),
  ...anthropicBlock(
    1,
    { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: {} },
    { type: "input_json_delta", partial_json: '{"query":"oslo weather"}' },
  ),
  ...anthropicBlock(2, { type: "web_search_tool_result", tool_use_id: "srvtoolu_1", content: [] }),
  ...omittedThinking(3, "SIG_TWO"),
  ...weatherCall(4),
  ...anthropicEnd("tool_use", 40),
]

/** The thinking blocks of {@link CLAUDE_OMITTED_THINKING_THEN_TOOL}, as Claude wants them back. */
export const CLAUDE_OMITTED_THINKING_BACK = [
  { type: "thinking", thinking: "", signature: "SIG_ONE" },
  { type: "thinking", thinking: "", signature: "SIG_TWO" },
]

/** Makes `upstream` answer its first request with `answers[0]`, its second with `answers[1]`…, and every later one with the last. */
export function answerInTurn(upstream: Upstream, ...answers: string[][]): void {
  upstream.answer = (response) => {
    response.writeHead(200, { "content-type": "text/event-stream" })
    response.end((answers[upstream.requests.length - 1] ?? answers.at(-1) ?? []).join(""))
  }
}
