// resumable-stream 2.2.13 (`resumable-stream/ioredis`) served by a plain node:http server, in its
// own process (no Next.js: waitUntil is null, the server outlives every stream).
// `node resumable-server.js <redis url> <key prefix> <upstream port>`; answers "ready" with its
// port over IPC, answers "memory" with process.memoryUsage(), stops on "exit".
//   POST /v1/chat/completions  fetches the upstream and streams its bytes through
//                              createNewResumableStream; the stream's id in `x-stream-id`
//   POST /demo                 {prompt, words, tokensPerSecond}: the demo model's answer made in
//                              process, as OpenAI chunks paced like Herald's demo model, through
//                              createNewResumableStream
//   GET /resume/{id}[?resumeAt=n]  resumeExistingStream(id, n): 404 when unknown, 204 when it
//                              returns null (the stream is done: the rest cannot be had)
import { randomUUID } from "node:crypto"
import { createServer } from "node:http"
import { Redis } from "ioredis"
import { createResumableStreamContext } from "resumable-stream/ioredis"
import { demoPieces } from "./demo-pieces.js"

const [redisUrl, keyPrefix, upstreamPort] = process.argv.slice(2)
const publisher = new Redis(redisUrl)
const subscriber = new Redis(redisUrl)
const context = createResumableStreamContext({ waitUntil: null, keyPrefix, publisher, subscriber })

/** The upstream's answer to `body`, as strings. */
function upstreamStream(body) {
  const { readable, writable } = new TransformStream()
  fetch(`http://127.0.0.1:${upstreamPort}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  })
    .then((upstream) => upstream.body.pipeThrough(new TextDecoderStream()).pipeTo(writable))
    .catch((error) => writable.abort(error).catch(() => {}))
  return readable
}

const chunk = (delta, finishReason = null) =>
  `data: ${JSON.stringify({ object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`

/** The demo answer to `prompt`, paced as src/ai/demo.ts paces it, as OpenAI chunks. */
function demoStream({ prompt, words, tokensPerSecond }) {
  const { pieces } = demoPieces(prompt, words)
  const interval = 1000 / tokensPerSecond
  return new ReadableStream({
    async start(controller) {
      const startedAt = Date.now()
      controller.enqueue(chunk({ role: "assistant", content: "" }))
      for (const piece of pieces) {
        const wait = startedAt + (piece.sent - 1) * interval - Date.now()
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
        controller.enqueue(chunk({ content: piece.text }))
      }
      controller.enqueue(chunk({}, "stop"))
      controller.enqueue("data: [DONE]\n\n")
      controller.close()
    },
  })
}

/** Writes `stream` to `response`; a client that leaves stops the reading, not the stream's producer. */
async function pipe(stream, response) {
  const reader = stream.getReader()
  response.on("close", () => reader.cancel().catch(() => {}))
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      response.write(value)
    }
    response.end()
  } catch {
    response.destroy()
  }
}

const head = (response, id) =>
  response.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-stream-id": id,
  })

const server = createServer(async (request, response) => {
  response.socket.setNoDelay(true)
  const url = new URL(request.url, "http://localhost")
  const parts = []
  for await (const part of request) parts.push(part)
  const body = Buffer.concat(parts)
  if (request.method === "POST") {
    const id = randomUUID()
    const make =
      url.pathname === "/demo"
        ? () => demoStream(JSON.parse(body.toString("utf8")))
        : () => upstreamStream(body)
    const stream = await context.createNewResumableStream(id, make)
    head(response, id)
    await pipe(stream, response)
    return
  }
  const id = url.pathname.slice("/resume/".length)
  const resumeAt = url.searchParams.get("resumeAt")
  const stream = await context.resumeExistingStream(id, resumeAt === null ? undefined : Number(resumeAt))
  if (stream === undefined) response.writeHead(404).end()
  else if (stream === null) response.writeHead(204).end()
  else {
    head(response, id)
    await pipe(stream, response)
  }
})
// The default listen backlog, as herald serve's.
server.listen(0, "127.0.0.1", () =>
  process.send({ type: "ready", port: server.address().port, pid: process.pid }),
)
process.on("message", (message) => {
  if (message.cmd === "memory") process.send({ type: "memory", ...process.memoryUsage() })
  if (message.cmd === "exit") {
    server.closeAllConnections()
    server.close(() => {
      publisher.disconnect()
      subscriber.disconnect()
      process.exit(0)
    })
  }
})
