// The official Durable Streams client (@durable-streams/client) in Chromium against a real
// `herald serve` (dev mode, sqlite): a page of another origin that --cors-origins names creates, appends, reads,
// tails by SSE and resumes a Herald stream, and resumes an AI generation's stream mid-way.
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { build } from "esbuild"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { bannerTokens, type Hub, startHub, tempCwd, useCliProcesses } from "../cli/cli-helpers.js"
import { findChromium, launchChromium } from "../client/browser.js"

const executablePath = findChromium()

useCliProcesses()

describe.skipIf(!executablePath)("@durable-streams/client in Chromium against herald serve", () => {
  let hub: Hub
  let origin: string
  let pageServer: Server
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    const bundle = await build({
      stdin: {
        contents: `import { DurableStream, stream } from "@durable-streams/client"; globalThis.DS = { DurableStream, stream }`,
        resolveDir: new URL("../..", import.meta.url).pathname,
        loader: "ts",
      },
      bundle: true,
      format: "esm",
      platform: "browser",
      write: false,
    })
    const script = bundle.outputFiles[0]?.text ?? ""
    pageServer = createServer((request, response) => {
      if (request.url === "/client.js") {
        response.writeHead(200, { "content-type": "text/javascript" }).end(script)
        return
      }
      response
        .writeHead(200, { "content-type": "text/html" })
        .end('<!doctype html><script type="module" src="/client.js"></script>')
    })
    await new Promise<void>((resolve) => pageServer.listen(0, "127.0.0.1", resolve))
    const pageOrigin = `http://localhost:${(pageServer.address() as AddressInfo).port}`
    // Dev mode trusts a local page of the server's own origin or one --cors-origins names.
    hub = await startHub(["--port", "0", "--cors-origins", pageOrigin], { cwd: tempCwd() })
    origin = `http://localhost:${hub.port}`
    browser = await launchChromium(executablePath as string)
    page = await browser.newPage()
    // Another origin than the server's (CORS applies).
    await page.goto(`${pageOrigin}/`)
    await page.waitForFunction(() => "DS" in globalThis)
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    if (pageServer) await new Promise<void>((resolve) => pageServer.close(() => resolve()))
    hub?.child.kill("SIGTERM")
    if (hub) expect(await hub.exited).toBe(0)
  })

  it("creates, reads, tails by SSE and resumes a stream", async () => {
    const url = `${origin}/v1/stream/browser/chat-${Date.now()}`
    const caughtUp = await page.evaluate(async (url) => {
      const { DurableStream } = (globalThis as unknown as { DS: typeof import("@durable-streams/client") }).DS
      const handle = await DurableStream.create({ url, contentType: "application/json" })
      await handle.append(JSON.stringify({ token: "Hel" }))
      await handle.append(JSON.stringify({ token: "lo" }))
      const read = await handle.stream({ live: false })
      const items = await read.json()
      // Tail live from where the read ended; what arrives is kept for the test to look at.
      const tail = await handle.stream({ offset: read.offset, live: "sse" })
      const live: unknown[] = []
      Object.assign(globalThis, { live, tail })
      tail.subscribeJson((batch) => {
        live.push(...batch.items)
      })
      return { items, offset: read.offset }
    }, url)
    expect(caughtUp.items).toEqual([{ token: "Hel" }, { token: "lo" }])

    // Appended by another client (Node), seen live in the page.
    for (const token of ["!", "?"]) {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token }),
      })
      expect(response.status).toBe(204)
    }
    await expect
      .poll(() => page.evaluate(() => (globalThis as unknown as { live: unknown[] }).live))
      .toEqual([{ token: "!" }, { token: "?" }])

    const resumed = await page.evaluate(
      async ({ url, offset }) => {
        const { stream } = (globalThis as unknown as { DS: typeof import("@durable-streams/client") }).DS
        ;(globalThis as unknown as { tail: { cancel(): void } }).tail.cancel()
        return await (await stream({ url, offset, live: false })).json()
      },
      { url, offset: caughtUp.offset },
    )
    expect(resumed).toEqual([{ token: "!" }, { token: "?" }])
  })

  it("resumes a running AI generation's stream mid-way, losing and repeating nothing", async () => {
    const created = await fetch(`${origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "herald-on-disconnect": "continue" },
      body: JSON.stringify({
        model: "demo",
        stream: true,
        messages: [{ role: "user", content: "resume me" }],
      }),
    })
    expect(created.status).toBe(200)
    const id = created.headers.get("herald-generation-id") as string
    await created.body?.cancel()
    const url = `${origin}/v1/stream/_generations/${id}`
    // A page of another origin is no local client to the AI app: it reads with a token that
    // grants `ai` (dev mode's publisher token does).
    const headers = { authorization: `Bearer ${bannerTokens(hub.stdout()).publisher}` }

    const { first, rest, whole } = await page.evaluate(
      async ({ url, headers }) => {
        const { stream } = (globalThis as unknown as { DS: typeof import("@durable-streams/client") }).DS
        type Entry = { type: string }
        /** Reads by SSE from `offset` until `enough` entries or the end; the offset after them. */
        const readFrom = async (offset: string, enough: number) => {
          const response = await stream<Entry>({ url, headers, offset, live: "sse" })
          const items: Entry[] = []
          // The offset after the last batch taken (the client may read ahead of its subscriber).
          let next = offset
          let done = false
          await new Promise<void>((resolve) => {
            response.subscribeJson((batch) => {
              if (done) return
              items.push(...batch.items)
              next = batch.offset
              done = batch.streamClosed || items.length >= enough
              if (done) resolve()
            })
          })
          response.cancel()
          return { items, next }
        }
        const first = await readFrom("-1", 3)
        const rest = await readFrom(first.next, Number.POSITIVE_INFINITY)
        const whole = await (await stream<Entry>({ url, headers, offset: "-1", live: false })).json()
        return { first: first.items, rest: rest.items, whole }
      },
      { url, headers },
    )
    // Mid-way: the first read stopped while the answer was still coming.
    expect(first.length).toBeGreaterThanOrEqual(3)
    expect(rest.length).toBeGreaterThan(0)
    expect([...first, ...rest]).toEqual(whole)
    expect(whole.at(-1)).toMatchObject({ type: "end", status: "done" })
  })
})
