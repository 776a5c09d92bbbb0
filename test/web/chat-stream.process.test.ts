// The chat page's stream reader (chat-stream.js) in Chromium against a loopback server that
// ends every stream early (stream_interrupted) after an id-less finish chunk, as Herald's OpenAI
// format does when the finish is stored but not the end: the page backs off and gives up.
import { readFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import type { Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { findChromium } from "../client/browser.js"
import { useChatBrowser } from "./chat-page.js"

const executablePath = findChromium()
const browser = useChatBrowser(executablePath)

const chunk = (delta: object, finish: string | null) =>
  JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta, finish_reason: finish }],
  })

const PAGE = `<!doctype html><script type="module">
import { GenerationStream } from "/web/chat-stream.js"
window.seen = { states: [], ends: [], events: 0 }
new GenerationStream({
  onId() {},
  onEvent() { window.seen.events++ },
  onConnection(state) { window.seen.states.push(state) },
  onEnd(status) { window.seen.ends.push(status) },
  onRefused() {},
  onRestart() {},
}).follow("g1")
</script>`

describe.skipIf(executablePath === undefined)("the chat page's stream reader", () => {
  let server: Server
  let origin: string
  /** The follows of g1's stream, by their Last-Event-ID ("" for none). */
  const follows: string[] = []

  beforeAll(async () => {
    const web = join(import.meta.dirname, "../../dist/web")
    server = createServer((request, response) => {
      const url = new URL(request.url ?? "/", "http://x")
      if (url.pathname === "/") {
        response.writeHead(200, { "content-type": "text/html" }).end(PAGE)
      } else if (url.pathname === "/web/herald-client.js") {
        response
          .writeHead(200, { "content-type": "text/javascript" })
          .end(readFileSync(join(web, "../browser/herald-client.js")))
      } else if (url.pathname.startsWith("/web/") && url.pathname.endsWith(".js")) {
        response
          .writeHead(200, { "content-type": "text/javascript" })
          .end(readFileSync(join(web, url.pathname.slice("/web/".length))))
      } else if (url.pathname === "/v1/generations/g1/stream") {
        const after = String(request.headers["last-event-id"] ?? "")
        follows.push(after)
        response.writeHead(200, { "content-type": "text/event-stream" })
        // The answer's one event, then (every time) the early end: an id-less finish, the error.
        if (after === "") response.write(`id: e1\ndata: ${chunk({ content: "Hi" }, null)}\n\n`)
        response.write(`data: ${chunk({}, "stop")}\n\n`)
        response.end(
          `data: ${JSON.stringify({ error: { type: "stream_interrupted", message: "the stream ended early" } })}\n\n`,
        )
      } else if (url.pathname === "/v1/generations/g1") {
        response.writeHead(200, { "content-type": "application/json" }).end('{"status":"running"}')
      } else response.writeHead(404).end()
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => {
    server?.close()
  })

  async function seen(page: Page): Promise<{ states: string[]; ends: string[]; events: number }> {
    return page.evaluate(() => (window as unknown as { seen: never }).seen)
  }

  it("streams ended early after an id-less finish chunk, again and again, are followed with growing waits, and given up after 20 attempts", async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.clock.install()
    await page.goto(origin)
    // Real time: the first follow and the one at once after it, then a wait of 500 ms (fake time).
    await page.waitForTimeout(400)
    expect(follows.length).toBeLessThanOrEqual(3)
    // Fake time past every wait, until the reader gives up (offline) or plainly never does.
    for (let step = 0; step < 40 && !(await seen(page)).states.includes("offline"); step++) {
      await page.clock.fastForward(6000)
      await page.waitForTimeout(50)
    }
    const { states, ends } = await seen(page)
    expect(states.at(-1)).toBe("offline")
    expect(ends).toEqual([])
    // The first follow, then 20 attempts.
    expect(follows).toEqual(["", ...Array(20).fill("e1")])
  }, 60_000)
})
