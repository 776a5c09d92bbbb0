// The client in Node: the standard EventSource, then an AI-chat-style POST stream read with
// `for await`. Starts its own tiny loopback server. Run after `npm run build`: node examples/client.js
import { createServer } from "node:http"
import { EventSource, EventSourceResponseError, events } from "herald/client"

const server = createServer((req, res) => {
  if (req.url === "/clock") {
    res.writeHead(200, { "Content-Type": "text/event-stream" })
    let tick = 0
    const timer = setInterval(() => res.write(`id: ${++tick}\ndata: tick ${tick}\n\n`), 50)
    req.on("close", () => clearInterval(timer))
  } else if (req.url === "/chat" && req.method === "POST") {
    res.writeHead(200, { "Content-Type": "text/event-stream" })
    for (const token of ["Hello", ", ", "world", "!"]) res.write(`event: token\ndata: ${token}\n\n`)
    res.end("event: done\ndata: {}\n\n")
  } else {
    res.writeHead(401, { "WWW-Authenticate": "Bearer" }).end()
  }
})
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
const base = `http://127.0.0.1:${server.address().port}`

// 1. The WHATWG API, exactly as in a browser.
const clock = new EventSource(`${base}/clock`)
await new Promise((resolve) => {
  clock.onmessage = (event) => {
    console.log(`clock #${event.lastEventId}: ${event.data}`)
    if (event.lastEventId === "3") resolve()
  }
})
clock.close()

// 2. A POST stream, as AI chat APIs use: a body, a token refreshed before each connection, no
//    surprise re-POST (reconnect: false), and async iteration that ends with the stream.
let answer = ""
for await (const event of events(`${base}/chat`, {
  method: "POST",
  headers: async () => ({ Authorization: "Bearer demo-token", "Content-Type": "application/json" }),
  body: JSON.stringify({ prompt: "Say hello" }),
  reconnect: false,
})) {
  if (event.type === "token") answer += event.data
}
console.log(`chat: ${answer}`)

// 3. Errors say what happened, with the status and headers.
try {
  for await (const _ of events(`${base}/private`)) break
} catch (error) {
  if (error instanceof EventSourceResponseError) {
    console.log(`refused: ${error.status} (${error.headers.get("www-authenticate")}) — ${error.message}`)
  }
}
server.close()
