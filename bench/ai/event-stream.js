// A streaming request read as Server-Sent Events over node:http, for the measuring clients:
// each event is handed over with the time its bytes arrived (performance.now()), and the
// characters received are kept (resumable-stream's resumeAt counts them).
import { request } from "node:http"
import { createParser } from "eventsource-parser"

/**
 * Opens `method path` on the loopback `port`. `onEvent(event, arrivedAt)` gets every event.
 * Returns `head` (resolves with the status and headers), `ended` (resolves once the response
 * ended, was cut or timed out after `timeoutMs`: `{ complete }`), `text()` (the characters
 * received) and `abort()`.
 */
export function openEventStream({
  port,
  method = "GET",
  path,
  body,
  headers = {},
  agent,
  onEvent,
  timeoutMs,
}) {
  let received = ""
  let resolveHead
  let rejectHead
  let resolveEnded
  const head = new Promise((resolve, reject) => {
    resolveHead = resolve
    rejectHead = reject
  })
  const ended = new Promise((resolve) => {
    resolveEnded = resolve
  })
  let arrivedAt = 0
  const parser = createParser({ onEvent: (event) => onEvent(event, arrivedAt) })
  const req = request({
    host: "127.0.0.1",
    port,
    method,
    path,
    agent,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
  })
  const timer = setTimeout(() => req.destroy(new Error(`no end within ${timeoutMs} ms`)), timeoutMs)
  const finish = (complete) => {
    clearTimeout(timer)
    resolveEnded({ complete })
  }
  req.on("error", (error) => {
    rejectHead(error)
    finish(false)
  })
  req.on("response", (response) => {
    resolveHead({ status: response.statusCode, headers: response.headers })
    response.setEncoding("utf8")
    response.socket.setNoDelay(true)
    response.on("data", (text) => {
      arrivedAt = performance.now()
      received += text
      parser.feed(text)
    })
    response.on("end", () => finish(true))
    response.on("close", () => finish(false))
    response.on("error", () => finish(false))
  })
  req.end(body === undefined ? undefined : JSON.stringify(body))
  return {
    head,
    ended,
    text: () => received,
    abort: () => req.destroy(),
  }
}

/**
 * What an OpenAI chat-completion event says: `{ text }` (its content delta, "" when none),
 * `{ done: true }` for `[DONE]`, or `{ error }`.
 */
export function readChunk(data) {
  if (data === "[DONE]") return { done: true }
  const parsed = JSON.parse(data)
  if (parsed.error !== undefined) return { error: parsed.error }
  return { text: parsed.choices?.[0]?.delta?.content ?? "" }
}
