// The chat page (/chat) in Chromium against a real `herald serve` with a slowed demo model: a
// reload mid-answer resumes from the page's cursor with the exact answer, a second tab follows the
// same answer live, Stop ends it cancelled, and outside dev mode the page asks for a token.
import type { Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startHub, tempCwd, useCliProcesses } from "../cli/cli-helpers.js"
import { findChromium } from "../client/browser.js"
import { SECRET, token } from "../hub/hub-helpers.js"
import {
  lastAnswer,
  loggedGeneration,
  openChat,
  pageErrors,
  send,
  startedGenerations,
  useChatBrowser,
  waitForAnswer,
  waitForEnd,
  wholeAnswer,
  writeModels,
} from "./chat-page.js"

useCliProcesses()

const executablePath = findChromium()

/** A test's own bound: its waits fail first, saying what they waited for. */
const TEST_MS = 90_000

/** Polls `check` until it holds; fails after `timeoutMs`, saying that the server never did `what`. */
async function waitForServer(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`the server never ${what} within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A request that creates a generation: the page's POST to /v1/chat/completions. */
function isCreate(url: string, method: string): boolean {
  return method === "POST" && url.endsWith("/v1/chat/completions")
}

/** The model that waits 1.5 s for its first token, and so for the response head: a reload lands before it. */
const SLOW_START = "demo-slow-start"

/**
 * Sends `prompt` from `page` to {@link SLOW_START}, and returns once the server at `origin`
 * started its generation, the response head still to come; how many it had started before.
 */
async function sendBeforeHead(page: Page, origin: string, prompt: string): Promise<number> {
  const started = await startedGenerations(origin, SLOW_START)
  await page.waitForSelector("#model:not([disabled])", { timeout: 15_000 })
  await page.selectOption("#model", SLOW_START)
  await send(page, prompt)
  // The server started the generation; its first token, and so the response head, is to come.
  await waitForServer(
    async () => (await startedGenerations(origin, SLOW_START)) === started + 1,
    "started it",
  )
  return started
}

/** The last turn of the conversation the page keeps for the tab (its sessionStorage). */
async function lastKeptTurn(page: Page): Promise<Record<string, unknown> | undefined> {
  const kept = await page.evaluate(() =>
    JSON.parse(sessionStorage.getItem("herald.chat.conversation") ?? "[]"),
  )
  return (kept as Record<string, unknown>[]).at(-1)
}

const browser = useChatBrowser(executablePath)

describe.skipIf(executablePath === undefined)("the chat page in dev mode", () => {
  let hub: Awaited<ReturnType<typeof startHub>>
  let origin: string

  beforeAll(async () => {
    const cwd = tempCwd()
    hub = await startHub(["--engine", "memory", "--port", "0", "--ai-models", writeModels(cwd)], { cwd })
    origin = new URL(hub.hubUrl).origin
  })
  afterAll(() => {
    hub?.child.kill("SIGKILL")
  })

  it(
    "a reload mid-answer follows the same generation from the page's cursor: the text is the whole answer, once",
    async () => {
      const context = await browser.newContext()
      const page = await openChat(context, `${origin}/chat`)
      const prompt = "How do tides work?"
      await send(page, prompt)
      const before = await waitForAnswer(
        page,
        (answer) => answer.status === "running" && answer.text.length >= 40,
        "showed 40 characters",
      )
      const id = before.id as string
      expect(page.url()).toBe(`${origin}/chat#g=${id}`)

      const resumes: (string | undefined)[] = []
      page.on("request", (request) => {
        if (request.url().includes(`/v1/generations/${id}/stream`))
          resumes.push(request.headers()["last-event-id"])
      })
      await page.reload()
      const reloaded = await waitForEnd(page)

      const whole = await wholeAnswer(origin, prompt)
      expect(before.text.length).toBeLessThan(whole.length)
      expect(reloaded).toMatchObject({ id, status: "done", text: whole })
      expect(await loggedGeneration(origin, id)).toEqual({ text: whole, end: "done" })
      // It resumed after its cursor, not from the start: the first request after the reload named
      // the cursor kept with the text (a position of the log, or an event within one).
      expect(resumes[0]).toMatch(/^\w+_\d+(\.\d+)?$/)
      expect(whole.startsWith(before.text)).toBe(true)
      expect(pageErrors(page)).toEqual([])
    },
    TEST_MS,
  )

  it(
    "a reload whose kept cursor names events the server lost (a Redis failover) shows the answer as kept, from its start, once",
    async () => {
      const context = await browser.newContext()
      const page = await openChat(context, `${origin}/chat`)
      const prompt = "Why is the sky blue?"
      await send(page, prompt)
      const before = await waitForAnswer(
        page,
        (answer) => answer.status === "running" && answer.text.length >= 20,
        "showed 20 characters",
      )
      // What a lossy failover leaves in the tab: text the log lost, and a cursor past its tail.
      await page.addInitScript(() => {
        const key = "herald.chat.conversation"
        const turns = JSON.parse(sessionStorage.getItem(key) ?? "[]")
        const turn = turns.at(-1)
        const [epoch, seq] =
          String(turn?.cursor ?? "")
            .split(".")[0]
            ?.split("_") ?? []
        if (turn === undefined || seq === undefined || turn.text.startsWith("LOST ")) return
        turn.text = `LOST ${turn.text}`
        turn.cursor = `${epoch}_${String(Number(seq) + 500).padStart(seq.length, "0")}`
        sessionStorage.setItem(key, JSON.stringify(turns))
      })
      const statuses: number[] = []
      page.on("response", (response) => {
        if (response.url().includes(`/v1/generations/${before.id}/stream`)) statuses.push(response.status())
      })
      await page.reload()
      const reloaded = await waitForEnd(page)

      const whole = await wholeAnswer(origin, prompt)
      expect(statuses.slice(0, 2)).toEqual([410, 200])
      expect(reloaded).toMatchObject({ id: before.id, status: "done", text: whole })
      expect(pageErrors(page)).toEqual([])
    },
    TEST_MS,
  )

  it(
    "a reload before the response head sends the request again with its Idempotency-Key: the same generation, from its start, once",
    async () => {
      const context = await browser.newContext()
      const page = await openChat(context, `${origin}/chat`)
      const keys: (string | undefined)[] = []
      const replayed: (string | undefined)[] = []
      page.on("request", (request) => {
        if (isCreate(request.url(), request.method())) keys.push(request.headers()["idempotency-key"])
      })
      page.on("response", (response) => {
        if (isCreate(response.url(), response.request().method()))
          replayed.push(response.headers()["idempotent-replayed"])
      })
      const prompt = "What makes a good cursor?"
      const started = await sendBeforeHead(page, origin, prompt)
      expect(await lastAnswer(page)).toMatchObject({ status: "starting", id: undefined })
      await page.reload()
      const ended = await waitForEnd(page)

      const whole = await wholeAnswer(origin, prompt)
      expect(ended).toMatchObject({ status: "done", text: whole, endMessage: "" })
      expect(await loggedGeneration(origin, ended.id as string)).toEqual({ text: whole, end: "done" })
      // Sent twice with one key, answered once by the generation the first request started.
      expect(keys).toHaveLength(2)
      expect(keys[0]).toMatch(/\w/)
      expect(keys[1]).toBe(keys[0])
      expect(replayed).toEqual(["true"])
      expect(await startedGenerations(origin, SLOW_START)).toBe(started + 1)
      // Once the server named the generation, the tab keeps its id, not the request.
      await expect.poll(() => lastKeptTurn(page)).toMatchObject({ id: ended.id, status: "done" })
      expect((await lastKeptTurn(page))?.request).toBeUndefined()
      expect(pageErrors(page)).toEqual([])
    },
    TEST_MS,
  )

  it(
    "a reload before the response head of a request too large to keep says so, and sends it no second time",
    async () => {
      const context = await browser.newContext()
      const page = await openChat(context, `${origin}/chat`)
      const posts: string[] = []
      page.on("request", (request) => {
        if (isCreate(request.url(), request.method())) posts.push(request.url())
      })
      const started = await sendBeforeHead(
        page,
        origin,
        `Why? ${"Tell me more about cursors. ".repeat(6000)}`,
      )
      // The page keeps its turns at most 100 ms after a change (and at once when it goes away).
      await expect.poll(() => lastKeptTurn(page)).toMatchObject({ status: "starting" })
      expect((await lastKeptTurn(page))?.request).toBeUndefined()
      await page.reload()
      const ended = await waitForEnd(page)
      expect(ended).toMatchObject({ status: "lost", text: "" })
      expect(ended.endMessage).toMatch(/^The page was reloaded before the answer started/)
      expect(posts).toHaveLength(1)
      await page.waitForTimeout(500)
      expect(await startedGenerations(origin, SLOW_START)).toBe(started + 1)
      expect(pageErrors(page)).toEqual([])
    },
    TEST_MS,
  )

  it(
    "a Stop before the response head, then a reload: the stop is kept, and the generation the request started ends cancelled",
    async () => {
      const context = await browser.newContext()
      const page = await openChat(context, `${origin}/chat`)
      const cancels: string[] = []
      page.on("request", (request) => {
        if (request.method() === "POST" && request.url().endsWith("/cancel")) cancels.push(request.url())
      })
      const started = await sendBeforeHead(page, origin, "Stop me before you start")
      await page.click("#stop")
      // Kept at once, not at the next throttled save: the reload may come any moment.
      expect(await lastKeptTurn(page)).toMatchObject({ status: "starting", stopRequested: true })
      await page.reload()
      const ended = await waitForEnd(page)

      expect(ended).toMatchObject({ status: "cancelled" })
      expect(ended.endMessage).toMatch(/^Stopped/)
      const id = ended.id as string
      const state = (await (await fetch(`${origin}/v1/generations/${id}`)).json()) as { status: string }
      expect(state.status).toBe("cancelled")
      expect((await loggedGeneration(origin, id)).end).toBe("generation_cancelled")
      expect(cancels).toEqual([`${origin}/v1/generations/${id}/cancel`])
      expect(await startedGenerations(origin, SLOW_START)).toBe(started + 1)
      await expect.poll(() => lastKeptTurn(page)).toMatchObject({ id, status: "cancelled" })
      expect((await lastKeptTurn(page))?.stopRequested).toBeUndefined()
      expect(pageErrors(page)).toEqual([])
    },
    TEST_MS,
  )

  it(
    "a second tab opened on the watch link follows the same answer live; both end with the same text",
    async () => {
      const context = await browser.newContext()
      const first = await openChat(context, `${origin}/chat`)
      const prompt = "Explain Server-Sent Events to a new developer"
      await send(first, prompt)
      const started = await waitForAnswer(first, (answer) => answer.id !== undefined, "had an id")
      const link = await first.getAttribute(".turn .watch", "href")
      expect(link).toBe(`/chat#g=${started.id}`)

      const second = await openChat(context, `${origin}${link}`)
      // Live: the second tab shows part of the answer while the generation still runs.
      const watching = await waitForAnswer(
        second,
        (answer) => answer.status === "running" && answer.text.length > 0,
        "showed text while running",
      )
      expect(watching.id).toBe(started.id)
      const [one, two] = [await waitForEnd(first), await waitForEnd(second)]
      const whole = await wholeAnswer(origin, prompt)
      expect(one).toMatchObject({ status: "done", text: whole })
      expect(two).toMatchObject({ id: started.id, status: "done", text: whole })
      expect(watching.text.length).toBeLessThan(whole.length)
      expect([...pageErrors(first), ...pageErrors(second)]).toEqual([])
    },
    TEST_MS,
  )

  it(
    "Stop cancels the generation: it ends cancelled, and the text stops where the log stops",
    async () => {
      const context = await browser.newContext()
      const page = await openChat(context, `${origin}/chat`)
      const prompt = "Why do streams need cursors?"
      await send(page, prompt)
      await waitForAnswer(page, (answer) => answer.status === "running" && answer.text.length >= 20, "ran")
      await page.click("#stop")
      const stopped = await waitForEnd(page)
      expect(stopped.status).toBe("cancelled")
      expect(stopped.endMessage).toMatch(/^Stopped/)

      const id = stopped.id as string
      const state = (await (await fetch(`${origin}/v1/generations/${id}`)).json()) as { status: string }
      expect(state.status).toBe("cancelled")
      const logged = await loggedGeneration(origin, id)
      expect(logged).toEqual({ text: stopped.text, end: "generation_cancelled" })
      const whole = await wholeAnswer(origin, prompt)
      expect(whole.startsWith(stopped.text)).toBe(true)
      expect(stopped.text.length).toBeLessThan(whole.length)
      // The text stays where it stopped (the demo model would have written more by now).
      await page.waitForTimeout(1500)
      expect((await lastAnswer(page)).text).toBe(stopped.text)
      expect(await page.isHidden("#stop")).toBe(true)
      expect(pageErrors(page)).toEqual([])
    },
    TEST_MS,
  )
})

describe.skipIf(executablePath === undefined)("the chat page outside dev mode", () => {
  let hub: Awaited<ReturnType<typeof startHub>>
  let origin: string

  beforeAll(async () => {
    const cwd = tempCwd()
    hub = await startHub(
      ["--engine", "memory", "--port", "0", "--no-dev", "--jwt-key", SECRET, "--ai-models", writeModels(cwd)],
      { cwd },
    )
    origin = new URL(hub.hubUrl).origin
  })
  afterAll(() => {
    hub?.child.kill("SIGKILL")
  })

  it(
    "asks for a token (401), says why a bad one is refused, and streams with a good one kept for the tab",
    async () => {
      const context = await browser.newContext()
      const page = await openChat(context, `${origin}/chat`)
      await page.waitForSelector("#token-panel:not([hidden])", { timeout: 15_000 })
      expect(await page.textContent("#token-reason")).toMatch(/token/i)

      await page.fill("#token-input", "not-a-jwt")
      await page.click("#token-form button[type=submit]")
      await page.waitForSelector("#token-panel:not([hidden])")
      expect(await page.textContent("#token-reason")).toMatch(/^The token was refused: .*JWT/)

      const good = await token(hub.hubUrl, {
        secret: SECRET,
        claims: {
          authorization_details: [
            {
              type: "https://herald.dev/grant",
              app: "ai",
              actions: ["generate", "read", "cancel"],
              resources: [{ match: "*" }],
            },
          ],
        },
      })
      await page.fill("#token-input", good)
      await page.click("#token-form button[type=submit]")
      const prompt = "How do tides work?"
      await send(page, prompt)
      expect(await page.isHidden("#token-panel")).toBe(true)
      const answered = await waitForEnd(page)
      const whole = await wholeAnswer(origin, prompt, { authorization: `Bearer ${good}` })
      expect(answered).toMatchObject({ status: "done", text: whole })
      expect(await page.evaluate(() => sessionStorage.getItem("herald.chat.token"))).toBe(good)
      expect(pageErrors(page)).toEqual([])
    },
    TEST_MS,
  )
})
