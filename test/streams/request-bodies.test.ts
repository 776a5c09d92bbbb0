// Request bodies of PUT and POST as a client may send them: one that stops arriving is answered
// 408 after the body idle timeout and its connection closed (a client must not hold a socket and
// a part-read body by stopping), in the library and as herald serve mounts the streams (its
// --body-idle-timeout); one that keeps arriving is read however long it takes; a client that
// leaves mid-body is nobody's failure, so nothing is logged as one.

import { once } from "node:events"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { connect, createServer as createHttp2Server, type IncomingHttpHeaders } from "node:http2"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { loadConfig } from "../../src/cli/config.js"
import { createServedStreams } from "../../src/cli/streams-mount.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import type { Logger } from "../../src/logger.js"
import { createAdmission } from "../../src/server/admission.js"
import { createStreamsHandler, type StreamsLimits } from "../../src/streams/index.js"
import { rawExchange, recordingLogger, stop } from "../server/helpers.js"

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** The idle timeout of these tests: short, so that a stall is seen in well under a second. */
const IDLE_MS = 300

type Handle = (request: IncomingMessage, response: ServerResponse) => Promise<void> | void

/** `handle` on a real server on 127.0.0.1; `handled` holds the promise of each request's handling. */
async function listen(handle: Handle) {
  const handled: Array<Promise<void>> = []
  const arrivals: Array<() => void> = []
  const server = createServer((request, response) => {
    handled.push(Promise.resolve(handle(request, response)))
    arrivals.shift()?.()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  cleanups.push(() => stop(server))
  const { port } = server.address() as AddressInfo
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    handled,
    /** Resolves once the next request reaches the handler. */
    nextArrival: () => new Promise<void>((resolve) => arrivals.push(resolve)),
  }
}

/** A streams handler (memory engine) with `limits`, served. */
function serveStreams(limits: Partial<StreamsLimits>, logger?: Logger) {
  const streams = createStreamsHandler({
    engine: createMemoryEngine(),
    limits,
    ...(logger === undefined ? {} : { logger }),
  })
  return listen(streams.handle)
}

/** The streams as herald serve mounts them with `argv` (memory engine, dev mode: a loopback client needs no token), served. */
async function serveAsHerald(argv: readonly string[]) {
  const cwd = mkdtempSync(join(tmpdir(), "herald-streams-bodies-"))
  cleanups.push(() => rmSync(cwd, { recursive: true, force: true }))
  const config = loadConfig({ argv: [...argv], env: {}, cwd })
  const engine = createMemoryEngine()
  cleanups.push(() => engine.close())
  const served = createServedStreams(
    config,
    engine,
    recordingLogger(),
    {
      openGenerationLog: async () => {
        throw new Error("no generation is read here")
      },
    },
    createAdmission(),
  )
  return await listen(served.mount.handle)
}

/** Sends `head` and what follows raw; the whole answer once the server closes, or "still open" after `waitMs`. */
async function answerTo(port: number, text: string, waitMs = 3000): Promise<string> {
  const { socket, closed } = await rawExchange(port, text)
  cleanups.push(() => void socket.destroy())
  return await Promise.race([
    closed,
    new Promise<string>((resolve) => setTimeout(resolve, waitMs, "still open")),
  ])
}

function expectStalled(answer: string): void {
  expect(answer).toMatch(/^HTTP\/1\.1 408 /)
  const lower = answer.toLowerCase()
  expect(lower).toContain("connection: close")
  expect(lower).toContain("content-type: application/problem+json")
  expect(answer).toContain(`stopped arriving for ${IDLE_MS} ms`)
}

describe("a request body that stops arriving", () => {
  it("is answered 408 after the body idle timeout, on PUT, POST and a chunked POST, and stores nothing", async () => {
    const { port, baseUrl } = await serveStreams({ bodyIdleTimeoutMs: IDLE_MS })
    const existing = `${baseUrl}/v1/stream/s`
    const text = { "content-type": "text/plain" }
    expect((await fetch(existing, { method: "PUT", headers: text, body: "a" })).status).toBe(201)

    const started = performance.now()
    const [put, post, chunked] = await Promise.all([
      answerTo(
        port,
        "PUT /v1/stream/new HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nbcd",
      ),
      answerTo(
        port,
        "POST /v1/stream/s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nbcd",
      ),
      answerTo(
        port,
        "POST /v1/stream/s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nbcd\r\n",
      ),
    ])
    for (const answer of [put, post, chunked]) expectStalled(answer)
    expect(performance.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 50)

    expect((await fetch(`${baseUrl}/v1/stream/new`, { method: "HEAD" })).status).toBe(404)
    expect(await (await fetch(`${existing}?offset=-1`)).text()).toBe("a")
  })

  it("is answered 408 over HTTP/2, and its stream closed", async () => {
    const streams = createStreamsHandler({
      engine: createMemoryEngine(),
      limits: { bodyIdleTimeoutMs: IDLE_MS },
    })
    const server = createHttp2Server((request, response) => {
      void streams.handle(request as unknown as IncomingMessage, response as unknown as ServerResponse)
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    cleanups.push(() => void client.destroy())
    const put = client.request({ ":method": "PUT", ":path": "/v1/stream/s", "content-type": "text/plain" })
    put.end()
    expect(((await once(put, "response")) as [IncomingHttpHeaders])[0][":status"]).toBe(201)
    put.resume()

    const post = client.request({ ":method": "POST", ":path": "/v1/stream/s", "content-type": "text/plain" })
    post.write("bcd")
    const headers = await Promise.race([
      once(post, "response").then(([head]) => head as IncomingHttpHeaders),
      new Promise<IncomingHttpHeaders>((resolve) => setTimeout(resolve, 3000, { ":status": "still open" })),
    ])
    expect(headers[":status"]).toBe(408)
    expect(headers.connection).toBeUndefined()
    let body = ""
    post.setEncoding("utf8")
    post.on("data", (chunk: string) => {
      body += chunk
    })
    const closed = await Promise.race([
      once(post, "close").then(() => "closed"),
      new Promise((resolve) => setTimeout(resolve, 3000, "still open")),
    ])
    expect(closed).toBe("closed")
    expect(body).toContain(`stopped arriving for ${IDLE_MS} ms`)
  })

  it("is cut by herald serve's --body-idle-timeout", async () => {
    const { port } = await serveAsHerald(["--body-idle-timeout", `${IDLE_MS}ms`])
    const answer = await answerTo(
      port,
      "PUT /v1/stream/new HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nbcd",
    )
    expectStalled(answer)
    expect(answer).toContain("--body-idle-timeout")
  })
})

describe("herald serve's streams limits", () => {
  it("bound a write by --streams-max-body-bytes and --streams-max-body-depth, not by the hub's --max-body-bytes", async () => {
    const { baseUrl } = await serveAsHerald([
      ...["--max-body-bytes", "8"],
      ...["--streams-max-body-bytes", "16", "--streams-max-body-depth", "2"],
    ])
    const url = `${baseUrl}/v1/stream/bounded`
    const json = { "content-type": "application/json" }
    expect((await fetch(url, { method: "PUT", headers: json })).status).toBe(201)
    const post = (body: string) => fetch(url, { method: "POST", headers: json, body })
    expect((await post(`"${"x".repeat(14)}"`)).status).toBe(204)
    expect((await post(`"${"x".repeat(15)}"`)).status).toBe(413)
    const deep = await post("[[[1]]]")
    expect(deep.status).toBe(400)
    expect(await deep.text()).toContain("--streams-max-body-depth")
  })
})

describe("a request body that keeps arriving", () => {
  it("is read whole however long it takes in all, each pause shorter than the idle timeout", async () => {
    const { port, baseUrl } = await serveStreams({ bodyIdleTimeoutMs: IDLE_MS })
    expect(
      (await fetch(`${baseUrl}/v1/stream/s`, { method: "PUT", headers: { "content-type": "text/plain" } }))
        .status,
    ).toBe(201)
    const { socket, closed, received } = await rawExchange(
      port,
      "POST /v1/stream/s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    )
    cleanups.push(() => void socket.destroy())
    // Eight chunks 100 ms apart: 800 ms in all, well past the 300 ms idle timeout.
    for (let sent = 0; sent < 8; sent++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(received()).toBe("")
      socket.write(`1\r\n${sent}\r\n`)
    }
    socket.write("0\r\n\r\n")
    expect(await closed).toMatch(/^HTTP\/1\.1 204 /)
    expect(await (await fetch(`${baseUrl}/v1/stream/s?offset=-1`)).text()).toBe("01234567")
  })
})

describe("a client that leaves mid-body", () => {
  it("is not logged as a failure, and the server serves on", async () => {
    const logger = recordingLogger()
    const { port, baseUrl, handled, nextArrival } = await serveStreams({}, logger)
    expect(
      (await fetch(`${baseUrl}/v1/stream/s`, { method: "PUT", headers: { "content-type": "text/plain" } }))
        .status,
    ).toBe(201)
    const arrived = nextArrival()
    const { socket } = await rawExchange(
      port,
      "POST /v1/stream/s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nbcd",
    )
    await arrived
    // Long enough for the handler to be reading the body when the client goes.
    await new Promise((resolve) => setTimeout(resolve, 50))
    socket.destroy()
    await Promise.all(handled)
    expect(logger.entries.filter((entry) => entry.level === "error")).toEqual([])
    expect(
      (
        await fetch(`${baseUrl}/v1/stream/s`, {
          method: "POST",
          headers: { "content-type": "text/plain" },
          body: "e",
        })
      ).status,
    ).toBe(204)
    expect(await (await fetch(`${baseUrl}/v1/stream/s?offset=-1`)).text()).toBe("e")
  })
})
