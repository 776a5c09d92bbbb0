// The baseline of the AI bench, in its own process: a node:http server that fetches the upstream
// and pipes its bytes through, storing nothing. `node pipe-server.js <upstream port>`; answers
// "ready" with its port over IPC, stops on "exit".
import { createServer } from "node:http"

const [upstreamPort] = process.argv.slice(2)

const server = createServer(async (request, response) => {
  response.socket.setNoDelay(true)
  const parts = []
  for await (const part of request) parts.push(part)
  const abort = new AbortController()
  response.on("close", () => abort.abort())
  try {
    const upstream = await fetch(`http://127.0.0.1:${upstreamPort}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Buffer.concat(parts),
      signal: abort.signal,
    })
    response.writeHead(upstream.status, { "content-type": "text/event-stream", "cache-control": "no-cache" })
    for await (const bytes of upstream.body) response.write(bytes)
    response.end()
  } catch {
    response.destroy()
  }
})
server.listen(0, "127.0.0.1", () =>
  process.send({ type: "ready", port: server.address().port, pid: process.pid }),
)
process.on("message", (message) => {
  if (message.cmd === "exit") {
    server.closeAllConnections()
    server.close(() => process.exit(0))
  }
})
