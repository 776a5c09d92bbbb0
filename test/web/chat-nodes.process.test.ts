// The chat page on two `herald serve` nodes sharing a Redis, behind a loopback proxy that sends the
// page's requests to one node, then to the other (a rolling deploy): the node serving the page's
// stream shuts down (SIGTERM) while the generation runs on the other node. That node ends the
// stream with a `stream_interrupted` error, which ends the stream, not the answer: the page reads
// on from its cursor through the other node and shows the whole answer, once.
import { createServer, request as httpRequest, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startHub, tempCwd, useCliProcesses } from "../cli/cli-helpers.js"
import { findChromium } from "../client/browser.js"
import { type RedisServer, redisServerInstalled, STRICT, startRedis } from "../engine/redis-servers.js"
import {
  loggedGeneration,
  openChat,
  pageErrors,
  useChatBrowser,
  waitForAnswer,
  waitForEnd,
  wholeAnswer,
  writeModels,
} from "./chat-page.js"

useCliProcesses()

const executablePath = findChromium()
const installed = await redisServerInstalled()
if (!installed && STRICT)
  throw new Error("HERALD_TEST_STRICT=1 and no redis-server: install Debian's package.")

type Node = Awaited<ReturnType<typeof startHub>>

/**
 * A reverse proxy on loopback to the node on port `target()`, bytes passed as they come (an SSE
 * stream is not buffered), and what each response said kept in `said`, by request URL.
 */
function startProxy(target: () => number): Promise<{ server: Server; origin: string; said: string[] }> {
  const said: string[] = []
  const server = createServer((request, response) => {
    const upstream = httpRequest(
      {
        host: "127.0.0.1",
        port: target(),
        method: request.method,
        path: request.url,
        headers: request.headers,
        agent: false,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        let text = ""
        answer.on("data", (chunk: Buffer) => {
          text += chunk.toString("utf8")
          response.write(chunk)
        })
        answer.on("end", () => response.end())
        answer.on("close", () => {
          said.push(text)
          response.end()
        })
      },
    )
    upstream.on("error", () => {
      if (!response.headersSent) response.writeHead(502)
      response.end()
    })
    response.on("close", () => upstream.destroy())
    request.pipe(upstream)
  })
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, said }),
    ),
  )
}

describe.skipIf(executablePath === undefined || !installed)("the chat page on two nodes on Redis", () => {
  let redis: RedisServer
  let runner: Node
  let reader: Node
  const browser = useChatBrowser(executablePath)

  beforeAll(async () => {
    redis = await startRedis()
    const models = writeModels(tempCwd())
    const start = () =>
      startHub(["--engine", redis.url, "--port", "0", "--ai-models", models], { cwd: tempCwd() })
    ;[runner, reader] = await Promise.all([start(), start()])
  })
  afterAll(async () => {
    runner?.child.kill("SIGKILL")
    reader?.child.kill("SIGKILL")
    await redis?.destroy()
  })

  it("the node serving the page's stream shuts down mid-answer: the page reads on through the other, and shows the whole answer once", async () => {
    const origin = `http://127.0.0.1:${runner.port}`
    let target = reader.port
    const proxy = await startProxy(() => target)
    try {
      const prompt = "How do tides work?"
      // The generation runs on `runner`, its creator gone: it runs on to its end.
      const created = await fetch(`${origin}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "herald-on-disconnect": "continue" },
        body: JSON.stringify({ model: "demo", stream: true, messages: [{ role: "user", content: prompt }] }),
        signal: AbortSignal.timeout(15_000),
      })
      const id = created.headers.get("herald-generation-id") as string
      await created.body?.cancel()
      expect(id).toMatch(/\w/)

      const context = await browser.newContext()
      const follows: (string | undefined)[] = []
      context.on("request", (request) => {
        if (request.url().includes(`/v1/generations/${id}/stream`))
          follows.push(request.headers()["last-event-id"])
      })
      const page = await openChat(context, `${proxy.origin}/chat#g=${id}`)
      const before = await waitForAnswer(
        page,
        (answer) => answer.status === "running" && answer.text.length >= 30,
        "showed 30 characters",
      )
      // The rolling deploy: new requests go to the other node, and this one is told to stop.
      target = runner.port
      reader.child.kill("SIGTERM")
      const ended = await waitForEnd(page)

      const whole = await wholeAnswer(origin, prompt)
      expect(await loggedGeneration(origin, id)).toEqual({ text: whole, end: "done" })
      expect(before.text.length).toBeLessThan(whole.length)
      expect(ended).toMatchObject({ id, status: "done", text: whole, endMessage: "" })
      // The node said its stream stopped, not the answer; the page read on after its cursor.
      expect(proxy.said.some((text) => text.includes('"type":"stream_interrupted"'))).toBe(true)
      expect(follows[0]).toBeUndefined()
      expect(follows.slice(1)).not.toEqual([])
      for (const cursor of follows.slice(1)) expect(cursor).toMatch(/^\w+_\d+(\.\d+)?$/)
      expect(pageErrors(page)).toEqual([])
      expect(await reader.exited).toBe(0)
    } finally {
      proxy.server.closeAllConnections()
      proxy.server.close()
    }
  }, 90_000)
})
