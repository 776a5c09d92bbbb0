// The OpenAI-compatible upstream of the AI bench, in the driver process: it answers
// POST /v1/chat/completions with a stream of `chat.completion.chunk` frames, one token per
// `data:` chunk at a steady rate, and records when it wrote each token (performance.now(), the
// clock the measuring clients share). A token's text carries its index, `<17>`, so a client
// can tell which token it got even when several arrive merged in one event. What to answer is
// planned per prompt: the last user message's text is the plan's key.
import { once } from "node:events"
import { createServer } from "node:http"

/** Token `index`'s text. */
export const tokenText = (index) => `<${index}>`

/** The token indices a text carries, in order. */
export const tokenIndices = (text) => Array.from(text.matchAll(/<(\d+)>/g), (match) => Number(match[1]))

/** The whole answer of `tokens` tokens. */
export const answerText = (tokens) => Array.from({ length: tokens }, (_, i) => tokenText(i)).join("")

const chunk = (delta, finishReason = null) =>
  `data: ${JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion.chunk",
    created: 0,
    model: "bench",
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  })}\n\n`

/** The last user message's text of an OpenAI chat request body. */
function promptOf(body) {
  const user = body.messages?.filter((message) => message.role === "user").at(-1)
  if (typeof user?.content === "string") return user.content
  return (user?.content ?? []).map((part) => part.text ?? "").join("")
}

/**
 * Starts the upstream on a loopback port. `plan(key, { tokens, rate })` says how the request
 * whose prompt is `key` is answered and returns its record: `sentAt[i]` (when token i was
 * written) and `finished` (resolves once `[DONE]` was written, or the client left).
 */
export async function startUpstream() {
  const plans = new Map()
  const server = createServer(async (request, response) => {
    request.socket.setNoDelay(true)
    const parts = []
    for await (const part of request) parts.push(part)
    const plan = plans.get(promptOf(JSON.parse(Buffer.concat(parts).toString("utf8"))))
    if (plan === undefined) {
      response.writeHead(404, { "content-type": "application/json" }).end('{"error":{"message":"no plan"}}')
      return
    }
    plans.delete(plan.key)
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
    let gone = false
    response.on("close", () => {
      gone = true
    })
    response.write(chunk({ role: "assistant", content: "" }))
    const start = performance.now()
    for (let i = 0; i < plan.tokens && !gone; i++) {
      // A schedule, so that timer lateness does not add up.
      const wait = start + (i * 1000) / plan.rate - performance.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      plan.sentAt[i] = performance.now()
      response.write(chunk({ content: tokenText(i) }))
    }
    if (!gone) {
      response.write(chunk({}, "stop"))
      response.write(
        `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: 1, completion_tokens: plan.tokens, total_tokens: plan.tokens + 1 } })}\n\n`,
      )
      response.end("data: [DONE]\n\n")
    }
    plan.finish()
  })
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  return {
    port: server.address().port,
    plan(key, { tokens, rate }) {
      let finish
      const finished = new Promise((resolve) => {
        finish = resolve
      })
      const plan = { key, tokens, rate, sentAt: new Array(tokens).fill(Number.NaN), finish, finished }
      plans.set(key, plan)
      return plan
    },
    close: async () => {
      server.closeAllConnections()
      server.close()
      await once(server, "close")
    },
  }
}
