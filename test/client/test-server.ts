// A loopback server whose behaviour each test sets: `server.handle((req, res) => …)`.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void

export interface TestServer {
  url: string
  /** Every request so far: method, headers and body. */
  requests: Array<{ method: string; headers: IncomingMessage["headers"]; body: string }>
  /** Responses, answered by the current handler, whose client went away before they ended. */
  aborted: number
  handle(handler: Handler): void
  close(): Promise<void>
}

export async function startTestServer(): Promise<TestServer> {
  let handler: Handler = (_req, res) => res.writeHead(500).end()
  const open = new Set<ServerResponse>()
  // A late close of an earlier test's response must not count against the next test.
  let generation = 0
  const state: TestServer = {
    url: "",
    requests: [],
    aborted: 0,
    handle(next) {
      handler = next
      generation++
      state.requests = []
      state.aborted = 0
    },
    close() {
      for (const res of open) res.destroy()
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
  const server = createServer((req, res) => {
    let body = ""
    req.setEncoding("utf8")
    req.on("data", (chunk: string) => {
      body += chunk
    })
    req.on("end", () => {
      state.requests.push({ method: req.method ?? "", headers: req.headers, body })
      open.add(res)
      const answeredBy = generation
      res.on("close", () => {
        open.delete(res)
        if (!res.writableEnded && answeredBy === generation) state.aborted++
      })
      handler(req, res, body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`
  return state
}

/** Answers 200 text/event-stream with `body`, then ends. */
export function sse(body: string): Handler {
  return (_req, res) => {
    res.writeHead(200, { "Content-Type": "text/event-stream" })
    res.end(body)
  }
}
