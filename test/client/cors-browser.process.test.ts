// Cross-origin streams in Chromium: a page on http://localhost:<port A> reads a stream from
// http://localhost:<port B> — another origin (so CORS applies) but the same site (so cookies may
// go), all on loopback. Herald's EventSource against the browser's own.
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { build } from "esbuild"
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { findChromium, launchChromium } from "./browser.js"

const executablePath = findChromium()

interface Seen {
  method: string
  path: string
  cookie: string | null
  lastEventId: string | null
}

let pageServer: Server
let streamServer: Server
let browser: Browser | undefined
let page: Page
let streamOrigin = ""
const seen: Seen[] = []

/** The stream server: CORS headers as the query asks, an id, a short retry, then the end of the response. */
function stream(req: IncomingMessage, res: import("node:http").ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://localhost")
  seen.push({
    method: req.method ?? "",
    path: url.pathname,
    cookie: req.headers.cookie ?? null,
    lastEventId: (req.headers["last-event-id"] as string | undefined) ?? null,
  })
  const cors: Record<string, string> = {}
  if (url.searchParams.get("cors") !== "none") {
    cors["Access-Control-Allow-Origin"] = req.headers.origin ?? "*"
    cors["Access-Control-Allow-Credentials"] = "true"
    if (url.searchParams.get("allowHeaders")) cors["Access-Control-Allow-Headers"] = "last-event-id"
  }
  if (req.method === "OPTIONS") return void res.writeHead(204, cors).end()
  res.writeHead(200, { "Content-Type": "text/event-stream", ...cors })
  res.end("retry: 20\nid: 1\ndata: x\n\n")
}

beforeAll(async () => {
  if (!executablePath) return
  const bundle = await build({
    stdin: {
      contents: `import { EventSource } from "./src/client/index.ts"; globalThis.HeraldEventSource = EventSource`,
      resolveDir: new URL("../..", import.meta.url).pathname,
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
  })
  const script = bundle.outputFiles[0]?.text ?? ""
  pageServer = createServer((req, res) => {
    if (req.url === "/client.js")
      return void res.writeHead(200, { "Content-Type": "text/javascript" }).end(script)
    res
      .writeHead(200, { "Content-Type": "text/html" })
      .end('<!doctype html><script type="module" src="/client.js"></script>')
  })
  streamServer = createServer(stream)
  await new Promise<void>((resolve) => pageServer.listen(0, "127.0.0.1", resolve))
  await new Promise<void>((resolve) => streamServer.listen(0, "127.0.0.1", resolve))
  streamOrigin = `http://localhost:${(streamServer.address() as AddressInfo).port}`
  browser = await launchChromium(executablePath)
  const context = await browser.newContext()
  await context.addCookies([{ name: "session", value: "s1", domain: "localhost", path: "/" }])
  page = await context.newPage()
  await page.goto(`http://localhost:${(pageServer.address() as AddressInfo).port}/`)
  await page.waitForFunction(() => "HeraldEventSource" in globalThis)
}, 60_000)

afterAll(async () => {
  await browser?.close()
  for (const server of [pageServer, streamServer]) {
    server?.closeAllConnections()
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
  }
})

/**
 * Opens a source in the page and logs `open`, `message` and `error:<readyState>` until `count`
 * entries or 1.5 s. `which` picks Herald's class or the browser's own.
 */
function runInPage(which: "herald" | "native", url: string, withCredentials: boolean, count: number) {
  return page.evaluate(
    ({ which, url, withCredentials, count }) =>
      new Promise<string[]>((resolve) => {
        const scope = globalThis as unknown as Record<string, typeof EventSource>
        const Impl = which === "herald" ? scope.HeraldEventSource : scope.EventSource
        const source = new (Impl as typeof EventSource)(url, { withCredentials })
        const log: string[] = []
        const done = () => {
          source.close()
          resolve(log)
        }
        const timer = setTimeout(done, 1500)
        const add = (entry: string) => {
          log.push(entry)
          if (log.length >= count) {
            clearTimeout(timer)
            done()
          }
        }
        source.onopen = () => add("open")
        source.onmessage = () => add("message")
        source.onerror = () => add(`error:${source.readyState}`)
      }),
    { which, url, withCredentials, count },
  )
}

describe.skipIf(!executablePath)("cross-origin streams in Chromium", () => {
  it("the first request needs no CORS preflight, as with the native EventSource", async () => {
    seen.length = 0
    expect(await runInPage("herald", `${streamOrigin}/first`, false, 2)).toEqual(["open", "message"])
    expect(seen.map((s) => s.method)).toEqual(["GET"])
  })

  it("withCredentials sends cookies cross-origin; without it, none are sent", async () => {
    seen.length = 0
    await runInPage("herald", `${streamOrigin}/with`, true, 2)
    await runInPage("herald", `${streamOrigin}/without`, false, 2)
    expect(seen.map((s) => [s.path, s.cookie])).toEqual([
      ["/with", "session=s1"],
      ["/without", null],
    ])
  })

  it("a reconnection with Last-Event-ID is preflighted; the native EventSource's is not", async () => {
    seen.length = 0
    const herald = await runInPage("herald", `${streamOrigin}/herald?allowHeaders=1`, false, 5)
    const heraldRequests = seen.splice(0).map((s) => `${s.method} ${s.lastEventId ?? "-"}`)
    const native = await runInPage("native", `${streamOrigin}/native?allowHeaders=1`, false, 5)
    const nativeRequests = seen.splice(0).map((s) => `${s.method} ${s.lastEventId ?? "-"}`)
    expect(herald.slice(0, 5)).toEqual(["open", "message", "error:0", "open", "message"])
    expect(native.slice(0, 5)).toEqual(["open", "message", "error:0", "open", "message"])
    expect(heraldRequests.slice(0, 3)).toEqual(["GET -", "OPTIONS -", "GET 1"])
    expect(nativeRequests.slice(0, 2)).toEqual(["GET -", "GET 1"])
  })

  it("a CORS refusal: Herald retries it as a network error, the native EventSource fails", async () => {
    const herald = await runInPage("herald", `${streamOrigin}/refused?cors=none`, false, 1)
    const native = await runInPage("native", `${streamOrigin}/refused?cors=none`, false, 1)
    expect(herald).toEqual(["error:0"])
    expect(native).toEqual(["error:2"])
  })
})
