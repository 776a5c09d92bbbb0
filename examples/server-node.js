// herald/server on a bare node:http server: a broadcast channel with replay, and a piped
// token stream. Run after `npm run build`: node examples/server-node.js
//   curl -N localhost:3000/events       a tick every second, resumable with Last-Event-ID
//   curl -N localhost:3000/story        an "LLM" stream, cancelled if you hang up
import { createServer } from "node:http"
import { createChannel, createSSE } from "herald/server"

const sse = createSSE() // heartbeats every 15 s, retry hint 3 s, bounded queues
const ticks = createChannel({ history: { maxEvents: 100 } })
const timer = setInterval(
  () => ticks.publish({ event: "tick", data: new Date().toISOString() }),
  Number(process.env.TICK_MS ?? 1000),
)

async function* story(signal) {
  for (const word of "Once upon a time a stream survived a reconnect".split(" ")) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    if (signal.aborted) return // the client left: stop generating
    yield { event: "token", data: word }
  }
}

const server = createServer((req, res) => {
  const path = new URL(req.url ?? "/", "http://localhost").pathname
  if (path === "/events") {
    ticks.subscribe(sse.connect(req, res)) // replays what the client missed, by Last-Event-ID
  } else if (path === "/story") {
    const connection = sse.connect(req, res)
    connection.pipe(story(connection.signal)).then(
      () => connection.close(),
      (error) => connection.send({ event: "error", data: String(error) }),
    )
  } else {
    res.writeHead(404).end("try /events or /story\n")
  }
})

server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`)
})

// Graceful shutdown: stop accepting, tell clients to come back in 1 s, close within 5 s.
process.once("SIGTERM", async () => {
  clearInterval(timer)
  await sse.close({ server, retryMs: 1000, deadlineMs: 5000 })
  process.exit(0)
})
