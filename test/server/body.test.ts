// readBody against real loopback requests: whole bodies, bounds, stalls, and clients that leave.
import { createServer, request as httpRequest, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { type BodyErrors, readBody } from "../../src/server/body.js"

const ERRORS: BodyErrors = {
  tooLarge: (maxBytes) => new Error(`too large: ${maxBytes}`),
  stalled: (idleMs) => new Error(`stalled: ${idleMs}`),
  abandoned: () => new Error("abandoned"),
}
const LIMITS = { maxBodyBytes: 1000, bodyIdleTimeoutMs: 200 }

let close: (() => Promise<void>) | undefined
afterEach(async () => {
  await close?.()
  close = undefined
})

/** A server that reads each request's body with readBody (after `delayMs`) and records the outcome. */
async function serve(delayMs = 0) {
  const outcomes: string[] = []
  const requests: IncomingMessage[] = []
  const server = createServer((request, response) => {
    requests.push(request)
    setTimeout(() => {
      readBody(request, LIMITS, ERRORS).then(
        (body) => {
          outcomes.push(`body ${body.toString()}`)
          response.end("ok")
        },
        (error: Error) => {
          outcomes.push(error.message)
          response.destroy()
        },
      )
    }, delayMs)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  close = () =>
    new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return { port, outcomes, requests }
}

function send(port: number, chunks: string[], gapMs: number, end = true) {
  const request = httpRequest({
    port,
    host: "127.0.0.1",
    method: "POST",
    headers: { "transfer-encoding": "chunked" },
  })
  request.on("error", () => {})
  void (async () => {
    for (const chunk of chunks) {
      request.write(chunk)
      await new Promise((resolve) => setTimeout(resolve, gapMs))
    }
    if (end) request.end()
  })()
  return request
}

describe("readBody", () => {
  it("reads a body sent in pieces, each pause under the idle bound", async () => {
    const { port, outcomes } = await serve()
    send(port, ["a", "b", "c"], 50)
    await expect.poll(() => outcomes, { timeout: 3000 }).toEqual(["body abc"])
  })

  it("refuses a body past the bound, and one that stalls", async () => {
    const { port, outcomes } = await serve()
    send(port, ["x".repeat(600), "x".repeat(600)], 10)
    send(port, ["a"], 10, false)
    await expect
      .poll(() => [...outcomes].sort(), { timeout: 3000 })
      .toEqual(["stalled: 200", "too large: 1000"])
  })

  it("says abandoned at once for a client gone before the body is read", async () => {
    const { port, outcomes, requests } = await serve(300)
    const request = send(port, ["a"], 10, false)
    await expect.poll(() => requests.length, { timeout: 3000 }).toBe(1)
    request.destroy()
    await expect.poll(() => outcomes, { timeout: 3000 }).toEqual(["abandoned"])
  })
})
