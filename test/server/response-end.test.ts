// The end of an exchange whose client is gone or whose body was refused unread: what holds a
// slot or a stream must let it go.
import { once } from "node:events"
import { createServer as createHttpServer, type RequestListener, type ServerResponse } from "node:http"
import { connect, createServer as createHttp2Server } from "node:http2"
import { type AddressInfo, createConnection, type Socket } from "node:net"
import { describe, expect, it } from "vitest"
import { closeIfBodyUnread } from "../../src/server/body.js"
import { onResponseGone } from "../../src/server/response-gone.js"
import { waitUntil } from "./helpers.js"

/** Runs `talk` on a raw socket to an HTTP/1 server answering with `handler`, then stops the server. */
async function overRawHttp1(
  handler: RequestListener,
  talk: (socket: Socket) => Promise<void>,
): Promise<void> {
  const server = createHttpServer(handler)
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  try {
    const socket = createConnection((server.address() as AddressInfo).port, "127.0.0.1")
    await once(socket, "connect")
    await talk(socket)
  } finally {
    server.closeAllConnections()
    server.close()
  }
}

describe("onResponseGone", () => {
  it("calls back for a response queued behind another on a pipelined HTTP/1 connection when the socket dies", async () => {
    const gone: string[] = []
    const handler: RequestListener = (request, response) => {
      onResponseGone(request, response, () => gone.push(request.url ?? ""))
      // Neither is ever answered: the first holds the connection, the second waits behind it.
      response.writeHead(200, { "content-type": "text/event-stream" })
      response.write(": open\n\n")
    }
    await overRawHttp1(handler, async (socket) => {
      socket.write("GET /first HTTP/1.1\r\nhost: x\r\n\r\nGET /second HTTP/1.1\r\nhost: x\r\n\r\n")
      await once(socket, "data")
      socket.destroy()
      await waitUntil(
        () => gone.length === 2,
        () => undefined,
      )
      expect(gone.sort()).toEqual(["/first", "/second"])
    })
  })
})

describe("closeIfBodyUnread", () => {
  it("closes an HTTP/2 stream whose body was refused part-read once the answer is sent", async () => {
    const server = createHttp2Server((request, response) => {
      // A refusal while reading the body, as a 413 past the size or a 408 after a pause is.
      request.once("data", () => {
        request.pause()
        closeIfBodyUnread(response as unknown as ServerResponse)
        response.writeHead(413, { "content-type": "application/json" })
        response.end('{"error":"too large"}')
      })
    })
    server.listen(0, "127.0.0.1")
    await once(server, "listening")
    const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    try {
      const stream = client.request({ ":method": "POST", ":path": "/" })
      // The client's side stays open: part of a body, then nothing.
      stream.write("{")
      const [headers] = (await once(stream, "response")) as [Record<string, unknown>]
      expect(headers[":status"]).toBe(413)
      stream.resume()
      await once(stream, "close")
      expect(stream.rstCode).toBe(0)
    } finally {
      client.close()
      server.close()
    }
  })

  it("answers an HTTP/1 request whose line claims HTTP/2.0 and closes its connection", async () => {
    const handler: RequestListener = (_request, response) => {
      closeIfBodyUnread(response)
      response.writeHead(413, { "content-type": "application/json" })
      response.end('{"error":"too large"}')
    }
    await overRawHttp1(handler, async (socket) => {
      socket.write("POST / HTTP/2.0\r\nhost: x\r\ncontent-length: 1000\r\n\r\n{")
      const chunks: Buffer[] = []
      socket.on("data", (chunk: Buffer) => chunks.push(chunk))
      await once(socket, "close")
      const answer = Buffer.concat(chunks).toString()
      expect(answer).toMatch(/^HTTP\/1\.1 413 /)
      expect(answer.toLowerCase()).toContain("connection: close")
    })
  })
})
