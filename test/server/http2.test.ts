import { once } from "node:events"
import { type ClientHttp2Stream, connect, createServer, type IncomingHttpHeaders } from "node:http2"
import type { AddressInfo } from "node:net"
import { afterAll, describe, expect, it } from "vitest"
import { createParser, type ServerSentEvent } from "../../src/protocol/index.js"
import { createSSE, type SSEConnection } from "../../src/server/index.js"
import { waitUntil } from "./helpers.js"

describe("node:http2 compat adapter", () => {
  const sse = createSSE()
  const opened: SSEConnection[] = []
  const server = createServer((req, res) => {
    const connection = sse.connect(req, res)
    opened.push(connection)
    connection.send({ id: "1", data: "over h2" })
  })
  afterAll(async () => {
    await sse.close({ deadlineMs: 100 })
    await new Promise((resolve) => server.close(resolve))
  })

  it("streams events over HTTP/2 without a Connection header, and sees the stream reset", async () => {
    server.listen(0, "127.0.0.1")
    await once(server, "listening")
    const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    try {
      const stream: ClientHttp2Stream = client.request({ ":path": "/", "last-event-id": "0" })
      const [headers] = (await once(stream, "response")) as [IncomingHttpHeaders]
      expect(headers[":status"]).toBe(200)
      expect(headers["content-type"]).toBe("text/event-stream; charset=utf-8")
      expect(headers.connection).toBeUndefined()
      const events: ServerSentEvent[] = []
      const parser = createParser({ onEvent: (event) => events.push(event) })
      stream.on("data", (chunk: Buffer) => parser.feed(chunk))
      await waitUntil(
        () => events.length === 1,
        () => undefined,
      )
      expect(events[0]).toEqual({ type: "message", data: "over h2", lastEventId: "1" })
      expect(opened[0]?.lastEventId).toBe("0")
      stream.close()
      await waitUntil(
        () => opened[0]?.closed === true,
        () => undefined,
      )
      expect(opened[0]?.closeReason).toBe("client-gone")
    } finally {
      client.close()
    }
  })
})
