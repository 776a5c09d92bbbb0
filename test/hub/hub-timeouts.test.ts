import { once } from "node:events"
import { createServer, type RequestListener, request, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { createHttpServer, type HttpTimeouts } from "../../src/cli/http-server.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createHub, type Hub } from "../../src/hub/hub.js"
import type { HubLimits, HubOptions } from "../../src/hub/options.js"
import type { Logger } from "../../src/logger.js"
import {
  rawExchange as openRawExchange,
  openStream,
  recordingLogger,
  stop,
  waitUntil,
} from "../server/helpers.js"

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const SHORT: HttpTimeouts = { headersTimeoutMs: 200, keepAliveTimeoutMs: 1000 }

/** A hub with anonymous publishing (unless `options` say otherwise) on a server made by `makeServer` (herald serve's by default). */
async function serveHub(
  limits: HubLimits,
  makeServer: (listener: RequestListener) => Server = (listener) => createHttpServer(listener, SHORT),
  logger?: Logger,
  options: Partial<HubOptions> = {},
): Promise<{ hub: Hub; server: Server; port: number }> {
  let hub: Hub | undefined
  const server = makeServer((req, res) => hub?.handle(req, res))
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  const { port } = server.address() as AddressInfo
  hub = createHub({
    engine: createMemoryEngine(),
    hubUrl: `http://127.0.0.1:${port}/.well-known/mercure`,
    allowAnonymousPublish: true,
    heartbeatMs: 0,
    limits,
    ...(logger === undefined ? {} : { logger }),
    ...options,
  })
  const running = hub
  cleanups.push(async () => {
    await running.close({ deadlineMs: 200 })
    await stop(server)
  })
  return { hub: running, server, port }
}

/** {@link openRawExchange}, its socket destroyed after the test. */
async function rawExchange(port: number, head: string) {
  const opened = await openRawExchange(port, head)
  cleanups.push(async () => void opened.socket.destroy())
  return opened
}

describe("herald serve's HTTP timeouts", () => {
  it("counts a client that leaves mid-body as a 400, not as a server error", async () => {
    const logger = recordingLogger()
    let arrived: () => void = () => {}
    const requestArrived = new Promise<void>((resolve) => {
      arrived = resolve
    })
    const { hub, port } = await serveHub(
      {},
      (listener) =>
        createHttpServer((request, response) => {
          arrived()
          listener(request, response)
        }, SHORT),
      logger,
    )
    const { socket } = await rawExchange(
      port,
      "POST /.well-known/mercure HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ntopic=t&da",
    )
    await requestArrived
    socket.destroy()
    const refusals = async () =>
      (await hub.metrics.getSingleMetric("herald_requests_refused_total")?.get())?.values ?? []
    let counted = await refusals()
    for (let tries = 0; tries < 500 && counted.length === 0; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      counted = await refusals()
    }
    expect(counted.map((value) => [value.labels.status, value.value])).toEqual([["400", 1]])
    expect(logger.entries.filter((entry) => entry.level === "error")).toEqual([])
  })

  it("cuts a client that dribbles its headers, with 408", async () => {
    const { port } = await serveHub({})
    const { socket, closed } = await rawExchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
    // One header byte every 20 ms keeps the socket busy, never finishing the headers.
    const dribble = setInterval(() => socket.writable && socket.write("X"), 20)
    cleanups.push(async () => clearInterval(dribble))
    const started = performance.now()
    const answer = await closed
    expect(answer).toMatch(/^HTTP\/1\.1 408 /)
    expect(performance.now() - started).toBeLessThan(2000)
  })

  it("answers a body that stops arriving with 408 and closes the connection", async () => {
    const { port } = await serveHub({ bodyIdleTimeoutMs: 150 })
    const { closed } = await rawExchange(
      port,
      "POST /.well-known/mercure HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ntopic=t&da",
    )
    const answer = await closed
    expect(answer).toMatch(/^HTTP\/1\.1 408 /)
    expect(answer.toLowerCase()).toContain("connection: close")
    expect(answer).toContain("--body-idle-timeout")
  })

  it("closes the connection after a refusal sent before the body was read (401, 413), instead of reading on", async () => {
    const head =
      "POST /.well-known/mercure HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 99999999999\r\n\r\ntopic=t&data="
    const open = await serveHub({}, undefined, undefined, { allowAnonymousPublish: false })
    const anonymous = await serveHub({ maxBodyBytes: 1000 })
    for (const [status, port] of [
      [401, open.port],
      [413, anonymous.port],
    ] as const) {
      const { socket, closed } = await rawExchange(port, head)
      // Keeps sending, as a client with that much to send would: the hub must not read it all.
      const more = setInterval(() => socket.writable && socket.write("x".repeat(16_384)), 20)
      cleanups.push(async () => clearInterval(more))
      const answer = await Promise.race([
        closed,
        new Promise<string>((resolve) => setTimeout(resolve, 2000, "still open")),
      ])
      expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `))
      expect(answer.toLowerCase()).toContain("connection: close")
    }
  })

  it("answers a body past the limit mid-way (no Content-Length) with 413, and closes the connection", async () => {
    const { port } = await serveHub({ maxBodyBytes: 1000 })
    const chunk = `topic=t&data=${"x".repeat(1500)}`
    const { closed } = await rawExchange(
      port,
      `POST /.well-known/mercure HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n`,
    )
    const answer = await closed
    expect(answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(answer.toLowerCase()).toContain("connection: close")
  })

  it("admits a QUERY subscription before reading its body, and cuts a body that trickles at the body timeout", async () => {
    const { hub, port } = await serveHub(
      { maxConnectionsPerAddress: 1, bodyIdleTimeoutMs: 300 },
      undefined,
      undefined,
      { allowAnonymousSubscribe: true },
    )
    const head =
      "QUERY /.well-known/mercure HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nmatch=a"
    const trickling = await rawExchange(port, head)
    // A byte every 50 ms: each within the 300 ms, never the whole body.
    const trickle = setInterval(() => trickling.socket.writable && trickling.socket.write("a"), 50)
    cleanups.push(async () => clearInterval(trickle))
    // Its body on its way, it holds the address's one slot: the next is refused at once.
    await waitUntil(
      () => hub.connections === 1,
      () => 0,
    )
    const refused = await rawExchange(port, head)
    const answer = await Promise.race([
      refused.closed,
      new Promise<string>((resolve) => setTimeout(resolve, 2000, "still open")),
    ])
    expect(answer).toMatch(/^HTTP\/1\.1 429 /)
    expect(answer.toLowerCase()).toContain("connection: close")
    const cut = await Promise.race([
      trickling.closed,
      new Promise<string>((resolve) => setTimeout(resolve, 3000, "still open")),
    ])
    expect(cut).toMatch(/^HTTP\/1\.1 408 /)
    expect(cut).toContain("did not arrive whole within 300 ms")
    expect(cut).toContain("--body-idle-timeout")
    // The slot is given back.
    expect(hub.connections).toBe(0)
    const stream = await openStream(`http://127.0.0.1:${port}/.well-known/mercure?match=t`)
    expect(stream.status).toBe(200)
    stream.close()
  })

  it("stops a streaming publish whose body stalls, saying which updates were stored", async () => {
    const { port } = await serveHub({ bodyIdleTimeoutMs: 150 })
    const { closed } = await rawExchange(
      port,
      'POST /herald/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"topic":"t"}\n\r\n',
    )
    const answer = await closed
    expect(answer).toMatch(/^HTTP\/1\.1 408 /)
    expect(answer.toLowerCase()).toContain("connection: close")
    expect(answer).toMatch(/"ids":\["urn:uuid:[^"]+"\]/)
  })

  it("keeps a streaming publish that keeps sending open past the headers and body idle timeouts", async () => {
    const { port } = await serveHub({ bodyIdleTimeoutMs: 150 })
    const result = await streamLines(port, 12, 60)
    expect(result.status).toBe(200)
    expect(JSON.parse(result.body).ids).toHaveLength(12)
    // Well past every timeout of the server (200 ms headers, 150 ms idle).
    expect(result.elapsedMs).toBeGreaterThan(600)
  })

  it("(control) Node's request timeout, scaled down from its 5 minutes, cuts the same stream", async () => {
    const { port } = await serveHub({ bodyIdleTimeoutMs: 150 }, (listener) =>
      createServer({ requestTimeout: 300, headersTimeout: 200, connectionsCheckingInterval: 20 }, listener),
    )
    const result = await streamLines(port, 12, 60)
    expect(result.status).not.toBe(200)
  })
})

/** POSTs `count` NDJSON lines, one every `everyMs`; resolves with the answer, or status 0 if the connection was cut. */
async function streamLines(port: number, count: number, everyMs: number) {
  const started = performance.now()
  const req = request({
    port,
    host: "127.0.0.1",
    method: "POST",
    path: "/herald/v1/publish",
    headers: { "content-type": "application/x-ndjson" },
  })
  let sent = 0
  const pacer = setInterval(() => {
    if (req.destroyed) return clearInterval(pacer)
    req.write(`${JSON.stringify({ topic: "t", data: String(sent) })}\n`)
    if (++sent === count) {
      clearInterval(pacer)
      req.end()
    }
  }, everyMs)
  try {
    const [response] = (await once(req, "response")) as [import("node:http").IncomingMessage]
    let body = ""
    for await (const chunk of response) body += chunk
    return { status: response.statusCode ?? 0, body, elapsedMs: performance.now() - started }
  } catch {
    return { status: 0, body: "", elapsedMs: performance.now() - started }
  } finally {
    clearInterval(pacer)
  }
}
