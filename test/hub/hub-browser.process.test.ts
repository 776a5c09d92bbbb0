// The hub as browsers use it: Chromium's own EventSource subscribes (cookie auth for private
// updates), the page publishes with fetch, and a dropped connection resumes with Last-Event-ID.
import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createHub, type Hub } from "../../src/hub/hub.js"
import { findChromium, launchChromium } from "../client/browser.js"
import { listen, stop, waitUntil } from "../server/helpers.js"
import { SECRET, token } from "./hub-helpers.js"

const executablePath = findChromium()

describe.skipIf(!executablePath)("the hub with Chromium's EventSource and fetch", () => {
  let browser: Browser
  let server: Awaited<ReturnType<typeof listen>>
  let hub: Hub
  let hubUrl: string
  let page: Page

  beforeAll(async () => {
    server = await listen((request, response) => {
      if (request.url === "/") {
        response.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>hub</title>")
      } else {
        hub.handle(request, response)
      }
    })
    hubUrl = `${server.url}/.well-known/mercure`
    const key = { kind: "secret" as const, secret: SECRET }
    hub = createHub({
      engine: createMemoryEngine(),
      hubUrl,
      publish: { keys: [key] },
      subscribe: { keys: [key] },
      allowAnonymousSubscribe: true,
      retryMs: 100,
      heartbeatMs: 0,
    })
    browser = await launchChromium(executablePath as string)
    const context = await browser.newContext()
    await context.addCookies([
      {
        name: "mercureAuthorization",
        value: await token(hubUrl, {
          subscribe: ["https://example.com/private/:id"].map((match) => ({
            match,
            match_type: "urlpattern",
          })),
        }),
        url: server.url,
      },
    ])
    page = await context.newPage()
    await page.goto(server.url)
  })
  afterAll(async () => {
    await browser?.close()
    await hub?.close({ deadlineMs: 100 })
    if (server) await stop(server.server)
  })

  const received = (name: string) =>
    page.evaluate(
      (key) => (window as unknown as { received: Record<string, string[]> }).received[key] ?? [],
      name,
    )

  it("routes raw topics, URIs and URL patterns, keeps non-matching and private updates away, resumes after a drop", async () => {
    const publisher = await token(hubUrl, { publish: ["*"] })
    await page.evaluate(
      ({ hubUrl }) => {
        const received: Record<string, string[]> = {}
        const open = (name: string, params: Array<[string, string]>) => {
          const url = new URL(hubUrl)
          for (const [key, value] of params) url.searchParams.append(key, value)
          const source = new EventSource(url, { withCredentials: true })
          received[name] = []
          source.onmessage = (event) => received[name]?.push(`${event.data}@${event.lastEventId}`)
          return new Promise((resolve) => source.addEventListener("open", resolve, { once: true }))
        }
        Object.assign(window, { received })
        return Promise.all([
          open("raw", [["match", "chat"]]),
          open("uri", [["match", "https://example.com/books/1"]]),
          open("pattern", [["match_urlpattern", "https://example.com/books/:id"]]),
          open("none", [["match", "https://example.com/nothing"]]),
          open("private", [["match_urlpattern", "https://example.com/:kind/:id"]]),
        ])
      },
      { hubUrl },
    )
    await waitUntil(
      () => hub.connections === 5,
      () => 0,
    )
    const publishFromPage = (fields: Array<[string, string]>) =>
      page.evaluate(
        async ({ hubUrl, fields, publisher }) => {
          const response = await fetch(hubUrl, {
            method: "POST",
            body: new URLSearchParams(fields),
            headers: { authorization: `Bearer ${publisher}` },
          })
          return [response.status, await response.text()] as const
        },
        { hubUrl, fields, publisher },
      )
    const [status, chatId] = await publishFromPage([
      ["topic", "chat"],
      ["data", "hello"],
    ])
    expect(status).toBe(200)
    const [, book1] = await publishFromPage([
      ["topic", "https://example.com/books/1"],
      ["data", "book 1"],
    ])
    const [, book2] = await publishFromPage([
      ["topic", "https://example.com/books/2"],
      ["data", "book 2"],
    ])
    const [, secret] = await publishFromPage([
      ["topic", "https://example.com/private/1"],
      ["private", "on"],
      ["data", "secret"],
    ])
    const [, hidden] = await publishFromPage([
      ["topic", "https://example.com/books/3"],
      ["private", "on"],
      ["data", "hidden"],
    ])
    expect(hidden).toMatch(/^urn:uuid:/)

    await expect.poll(() => received("raw")).toEqual([`hello@${chatId}`])
    await expect.poll(() => received("uri")).toEqual([`book 1@${book1}`])
    await expect.poll(() => received("pattern")).toEqual([`book 1@${book1}`, `book 2@${book2}`])
    await expect
      .poll(() => received("private"))
      .toEqual([`book 1@${book1}`, `book 2@${book2}`, `secret@${secret}`])
    expect(await received("none")).toEqual([])

    // Drop every connection; publish while the browser is away; EventSource reconnects with
    // Last-Event-ID and the hub replays what it missed, in order, once.
    server.server.closeAllConnections()
    const missed: string[] = []
    for (const data of ["missed 1", "missed 2"]) {
      const response = await fetch(hubUrl, {
        method: "POST",
        body: new URLSearchParams({ topic: "https://example.com/books/1", data }),
        headers: { authorization: `Bearer ${publisher}` },
      })
      missed.push(`${data}@${await response.text()}`)
    }
    await expect.poll(() => received("uri"), { timeout: 10_000 }).toEqual([`book 1@${book1}`, ...missed])
  })
})
