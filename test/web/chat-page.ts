// Drives the chat page (/chat) in Chromium and reads what it shows, and reads the same generation
// from the server (its log, replayed from the start), so a test compares the page with the truth.
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Browser, BrowserContext, Page } from "playwright-core"
import { afterAll, afterEach, beforeAll } from "vitest"
import { createParser } from "../../src/protocol/index.js"
import { launchChromium } from "../client/browser.js"

/**
 * The models of the tests' `--ai-models` file. `demo` (the page's default) is slow, so that a
 * reload, a second tab, a Stop or a kill lands mid-answer; `demo-slow-start` is as slow, and waits
 * 1.5 s for its first token, so that a reload lands before the response head (which waits for
 * it); `demo-fast` writes the same text (same prompt, same `words`) at once: the whole answer to
 * compare with.
 */
export const MODELS = {
  demo: { provider: "demo", timeToFirstTokenMs: 200, tokensPerSecond: 12, words: 80 },
  "demo-slow-start": { provider: "demo", timeToFirstTokenMs: 1500, tokensPerSecond: 12, words: 80 },
  "demo-fast": { provider: "demo", timeToFirstTokenMs: 0, tokensPerSecond: 100_000, words: 80 },
} as const

/** How many generations of `model` the server at `origin` started (its metrics; dev mode lets a local client read them). */
export async function startedGenerations(origin: string, model: string): Promise<number> {
  const response = await fetch(`${origin}/metrics`, { signal: AbortSignal.timeout(5000) })
  const text = await response.text()
  const line = text
    .split("\n")
    .find((row) => row.startsWith(`herald_ai_generations_started_total{model="${model}"} `))
  return line === undefined ? 0 : Number(line.split(" ").at(-1))
}

/** Writes {@link MODELS} as an `--ai-models` file in `directory`; returns its path. */
export function writeModels(directory: string): string {
  const path = join(directory, "models.json")
  writeFileSync(path, JSON.stringify(MODELS))
  return path
}

/** What the page shows of one answer. */
export interface ShownAnswer {
  /** `data-status`: starting, running, done, cancelled, interrupted, failed, lost. */
  readonly status: string
  /** `data-connection` while it runs: connecting, live, reconnecting, offline, token. */
  readonly connection: string | undefined
  /** The generation's id, once the server named it. */
  readonly id: string | undefined
  /** The answer's text as shown (typed out so far). */
  readonly text: string
  /** Still streaming or typing (`aria-busy`). */
  readonly busy: boolean
  /** The end's explanation, when it ended otherwise than done. */
  readonly endMessage: string
}

/**
 * Chromium at `executablePath` for the tests of the file or `describe` that calls this: launched
 * before them (not at all without one: those tests skip), closed after them. `newContext()` gives
 * a test a new context, closed after that test.
 */
export function useChatBrowser(executablePath: string | undefined): {
  newContext(): Promise<BrowserContext>
} {
  let browser: Browser | undefined
  let context: BrowserContext | undefined
  beforeAll(async () => {
    if (executablePath !== undefined) browser = await launchChromium(executablePath)
  })
  afterEach(async () => {
    await context?.close()
    context = undefined
  })
  afterAll(async () => {
    await browser?.close()
  })
  return {
    async newContext() {
      if (browser === undefined) throw new Error("no Chromium launched")
      context = await browser.newContext()
      return context
    },
  }
}

/** Opens the chat page in a new tab of `context`; page errors fail the test that reads them. */
export async function openChat(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage()
  const errors: string[] = []
  page.on("pageerror", (error) => errors.push(error.message))
  ;(page as Page & { errors: string[] }).errors = errors
  await page.goto(url)
  return page
}

/** The uncaught errors of a page opened by {@link openChat}. */
export function pageErrors(page: Page): string[] {
  return (page as Page & { errors?: string[] }).errors ?? []
}

/** Picks nothing: the page's default model is `demo`. Types `prompt` and sends it with Enter. */
export async function send(page: Page, prompt: string): Promise<void> {
  await page.waitForSelector("#model:not([disabled])", { timeout: 15_000 })
  await page.fill("#prompt", prompt)
  await page.press("#prompt", "Enter")
}

/** The page's answers, oldest first. */
export function answers(page: Page): Promise<ShownAnswer[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>(".turn")].map((turn) => ({
      status: turn.dataset.status ?? "",
      connection: turn.dataset.connection,
      id: turn.dataset.generation,
      text: turn.querySelector(".answer-text")?.textContent ?? "",
      busy: turn.querySelector(".answer")?.getAttribute("aria-busy") === "true",
      endMessage: turn.querySelector<HTMLElement>(".end-message:not([hidden])")?.textContent ?? "",
    })),
  )
}

/** The newest answer. */
export async function lastAnswer(page: Page): Promise<ShownAnswer> {
  const all = await answers(page)
  const last = all.at(-1)
  if (last === undefined) throw new Error("the page shows no answer")
  return last
}

/** Waits until the newest answer satisfies `condition` (polled; bounded by `timeoutMs`). */
export async function waitForAnswer(
  page: Page,
  condition: (answer: ShownAnswer) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<ShownAnswer> {
  const deadline = Date.now() + timeoutMs
  let last: ShownAnswer | undefined
  while (Date.now() < deadline) {
    last = (await answers(page)).at(-1)
    if (last !== undefined && condition(last)) return last
    await page.waitForTimeout(50)
  }
  throw new Error(`the answer never ${what} within ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`)
}

/** Waits until the newest answer ended (not running) and is typed out completely. */
export function waitForEnd(page: Page, timeoutMs = 45_000): Promise<ShownAnswer> {
  return waitForAnswer(
    page,
    (answer) => !["starting", "running"].includes(answer.status) && !answer.busy,
    "ended",
    timeoutMs,
  )
}

/** A generation as its log holds it: its text and how it ended (the terminal event's error type, or `done`). */
export interface LoggedGeneration {
  readonly text: string
  readonly end: string
}

/**
 * Reads generation `id` from its first event (`GET /v1/generations/{id}/stream`, OpenAI format)
 * to its end: the text the log holds. Only for an ended generation (it reads until the stream ends).
 */
export async function loggedGeneration(
  origin: string,
  id: string,
  headers: Record<string, string> = {},
): Promise<LoggedGeneration> {
  const response = await fetch(`${origin}/v1/generations/${id}/stream?format=openai`, {
    headers,
    signal: AbortSignal.timeout(15_000),
  })
  if (response.status !== 200) throw new Error(`the stream of ${id} answered ${response.status}`)
  let text = ""
  let end = "open"
  const parser = createParser({
    onEvent(event) {
      if (event.data === "[DONE]") {
        end = "done"
        return
      }
      const chunk = JSON.parse(event.data)
      if (chunk.error !== undefined) end = chunk.error.type
      else text += chunk.choices?.[0]?.delta?.content ?? ""
    },
  })
  parser.feed(await response.text())
  return { text, end }
}

/** The whole answer to `prompt` (the demo model is deterministic): `demo-fast`, not streamed. */
export async function wholeAnswer(
  origin: string,
  prompt: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const response = await fetch(`${origin}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "demo-fast", messages: [{ role: "user", content: prompt }] }),
    signal: AbortSignal.timeout(15_000),
  })
  if (response.status !== 200)
    throw new Error(`the whole answer: ${response.status} ${await response.text()}`)
  const body = (await response.json()) as { choices: { message: { content: string } }[] }
  return body.choices[0]?.message.content ?? ""
}
