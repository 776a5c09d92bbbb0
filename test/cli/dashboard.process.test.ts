// The dashboard at `/` of a real `herald serve`, in Chromium: after a scripted load its figures
// are /metrics', its chart moves, its publish form publishes and its tail tails; outside dev
// mode its admin stream refuses a request without a token (401) or without the admin grant (403),
// and the page says so and takes a token. While Redis is away, the lists it could not read say
// so (never "nothing published yet" or "not served").

import type { Browser, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { MERCURE_DETAIL_TYPE } from "../../src/auth/authorization-details.js"
import { type AccessTokenOptions, signAccessToken } from "../../src/auth/dev-tokens.js"
import { HERALD_GRANT_TYPE } from "../../src/auth/herald-grant.js"
import { findChromium, launchChromium } from "../client/browser.js"
import { redisServerInstalled, startRedis } from "../engine/redis-servers.js"
import { openStream, type StreamReader } from "../server/helpers.js"
import { type Hub, startHub, tempCwd, useCliProcesses } from "./cli-helpers.js"

useCliProcesses()

const executablePath = findChromium()
const redisInstalled = await redisServerInstalled()
const ADMIN_STREAM = "/_herald/admin/stream"
/** Subscribers and publishes of the scripted load. */
const SUBSCRIBERS = 6
const PUBLISHES = 25
const LOAD_TOPIC = "https://example.com/load"

let browser: Browser | undefined
beforeAll(async () => {
  if (executablePath !== undefined) browser = await launchChromium(executablePath)
})
afterAll(async () => {
  await browser?.close()
})

/** A page of the dashboard, failing the test on any script error in it. */
async function openDashboard(origin: string): Promise<{ page: Page; errors: string[] }> {
  const page = await (browser as Browser).newPage()
  const errors: string[] = []
  page.on("pageerror", (error) => errors.push(error.message))
  await page.goto(`${origin}/`)
  return { page, errors }
}

/** What the page shows for a figure (its exact value, not the formatted text). */
async function figure(page: Page, name: string): Promise<number> {
  return Number(await page.getAttribute(`[data-figure="${name}"]`, "data-value"))
}

/** The figures of /metrics that the page shows. */
async function metrics(origin: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${origin}/metrics`)).text()
  const value = (name: string) => {
    const line = text.split("\n").find((each) => each.startsWith(`${name} `))
    if (line === undefined) throw new Error(`no ${name} in /metrics`)
    return Number(line.slice(name.length + 1))
  }
  return {
    connections: value("herald_connections"),
    subscriptions: value("herald_subscriptions"),
    published: value("herald_updates_published_total"),
    delivered: value("herald_updates_delivered_total"),
    overflows: value("herald_queue_overflows_total"),
    replaysWaiting: value("herald_replays_waiting"),
  }
}

/** Publishes one update from this process (a local client: dev mode needs no token). */
async function publish(hub: Hub, topic: string, data: string): Promise<string> {
  const response = await fetch(hub.hubUrl, { method: "POST", body: new URLSearchParams({ topic, data }) })
  expect(response.status).toBe(200)
  return await response.text()
}

async function stopHub(hub: Hub): Promise<void> {
  hub.child.kill("SIGTERM")
  expect(await hub.exited).toBe(0)
}

describe.skipIf(executablePath === undefined)("the dashboard in Chromium", () => {
  it("dev mode: shows /metrics' figures after a load, moves its chart, publishes from its form, tails a topic", async () => {
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd: tempCwd() })
    const origin = new URL(hub.hubUrl).origin
    const subscribers: StreamReader[] = []
    try {
      // The scripted load: N subscribers, M publishes, every one delivered.
      const url = `${hub.hubUrl}?topic=${encodeURIComponent(LOAD_TOPIC)}`
      for (let index = 0; index < SUBSCRIBERS; index++) subscribers.push(await openStream(url))
      for (let index = 0; index < PUBLISHES; index++) await publish(hub, LOAD_TOPIC, `load ${index}`)
      await Promise.all(subscribers.map((subscriber) => subscriber.waitForEvents(PUBLISHES)))

      const { page, errors } = await openDashboard(origin)
      await page.waitForSelector('#status[data-state="live"]')
      const expected = await metrics(origin)
      expect(expected).toMatchObject({
        connections: SUBSCRIBERS,
        subscriptions: SUBSCRIBERS,
        published: PUBLISHES,
        delivered: SUBSCRIBERS * PUBLISHES,
      })
      // The page renders once a second: wait for a snapshot taken after the load.
      await page.waitForFunction(
        (delivered) =>
          document.querySelector('[data-figure="delivered"]')?.getAttribute("data-value") === delivered,
        String(expected.delivered),
        { timeout: 10_000 },
      )
      for (const [name, value] of Object.entries(expected)) expect(await figure(page, name), name).toBe(value)
      expect(await page.textContent('[data-figure="delivered"]')).toBe(
        new Intl.NumberFormat("en-US").format(expected.delivered ?? 0),
      )
      // The load's topic is the most subscribed; its updates are the newest publishes.
      expect(await page.textContent("#topics tr:first-child")).toContain(LOAD_TOPIC)
      expect(await page.textContent("#recent tr:first-child")).toContain(LOAD_TOPIC)
      expect(await page.textContent("#engine-badge")).toBe("healthy")

      // The chart moves: its path differs between two samples while updates flow.
      const line = () => page.getAttribute("#rate-chart .line-out", "d")
      await page.waitForFunction(
        () => Number(document.querySelector(".chart-svg")?.getAttribute("data-samples")) >= 2,
      )
      const before = await line()
      expect(before).toMatch(/^M[\d.,L]+/)
      for (let index = 0; index < 5; index++) await publish(hub, LOAD_TOPIC, `more ${index}`)
      await page.waitForFunction(
        (previous) => document.querySelector("#rate-chart .line-out")?.getAttribute("d") !== previous,
        before,
        { timeout: 5000 },
      )
      expect(await line()).not.toBe(before)

      // The publish form publishes: a subscriber gets it, and the page says which id it got.
      const formTopic = "https://example.com/from-the-form"
      const listener = await openStream(`${hub.hubUrl}?topic=${encodeURIComponent(formTopic)}`)
      subscribers.push(listener)
      await page.fill('#publish-form [name="topic"]', formTopic)
      await page.fill('#publish-form [name="data"]', '{"sent":"from the dashboard"}')
      await page.fill('#publish-form [name="type"]', "note")
      await page.click('#publish-form button[type="submit"]')
      await page.waitForSelector('#publish-result[data-tone="good"]')
      const [received] = await listener.waitForEvents(1)
      expect(received).toMatchObject({ type: "note", data: '{"sent":"from the dashboard"}' })
      expect(await page.textContent("#publish-result")).toBe(`Published ${received?.lastEventId}`)

      // The tail shows what is published to its topic.
      const tailTopic = "https://example.com/tailed"
      await page.fill('#tail-form [name="topic"]', tailTopic)
      await page.click("#tail-start")
      await page.waitForFunction(() => document.querySelector("#tail-state")?.textContent?.startsWith("live"))
      await publish(hub, tailTopic, "seen in the tail")
      await page.waitForFunction(
        () => document.querySelector("#tail-log li .tail-data")?.textContent === "seen in the tail",
      )
      await page.click("#tail-stop")
      expect(await page.textContent("#tail-state")).toBe("stopped")
      expect(errors).toEqual([])
      await page.close()
    } finally {
      for (const subscriber of subscribers) subscriber.close()
      await stopHub(hub)
    }
  })

  it("with a key: the admin stream needs a token (401) with the admin grant (403); the page says so, and takes one", async () => {
    const secret = "dashboard-test-secret-0123456789-abcdefghij"
    const hub = await startHub(["--engine", "memory", "--port", "0", "--jwt-key", secret], { cwd: tempCwd() })
    const origin = new URL(hub.hubUrl).origin
    try {
      const sign = (details: AccessTokenOptions["details"]) =>
        signAccessToken({
          secret,
          resource: hub.hubUrl,
          issuer: "https://test",
          subject: "operator",
          details,
        })
      const publisher = await sign([
        { type: MERCURE_DETAIL_TYPE, actions: ["publish"], topics: [{ match: "*" }] },
      ])
      const admin = await sign([
        { type: HERALD_GRANT_TYPE, app: "admin", actions: ["admin"], resources: [{ match: "*" }] },
      ])

      // From this very machine: no dev mode, no way in without the grant.
      expect((await fetch(`${origin}${ADMIN_STREAM}`)).status).toBe(401)
      const refused = await fetch(`${origin}${ADMIN_STREAM}`, {
        headers: { authorization: `Bearer ${publisher}` },
      })
      expect(refused.status).toBe(403)
      const allowed = await fetch(`${origin}${ADMIN_STREAM}`, {
        headers: { authorization: `Bearer ${admin}` },
      })
      expect(allowed.status).toBe(200)
      expect(allowed.headers.get("content-type")).toBe("text/event-stream; charset=utf-8")
      await allowed.body?.cancel()
      // The page itself is public: it holds no data.
      expect((await fetch(`${origin}/`)).status).toBe(200)

      const { page, errors } = await openDashboard(origin)
      await page.waitForSelector('#status[data-state="token"]')
      expect(await page.isVisible("#token-panel")).toBe(true)
      expect(await page.textContent("#status-text")).toBe("Token needed")
      expect(await page.textContent("#token-reason")).toContain("admin")
      // Not in dev mode: the page does not offer its rule (a local client needs no token).
      expect(await page.textContent("#token-panel")).not.toMatch(/dev mode|no token|needs none/i)

      await page.fill("#token-input", publisher)
      await page.click('#token-form button[type="submit"]')
      await page.waitForFunction(
        () => document.querySelector("#status-text")?.textContent === "Token lacks the admin grant",
      )
      expect(await page.isVisible("#token-panel")).toBe(true)

      await page.fill("#token-input", admin)
      await page.click('#token-form button[type="submit"]')
      await page.waitForSelector('#status[data-state="live"]')
      expect(await page.isVisible("#token-panel")).toBe(false)
      await page.waitForFunction(
        () => document.querySelector('[data-figure="connections"]')?.getAttribute("data-value") === "0",
      )
      // The admin token publishes from the form too (it is the operator's: every grant).
      await page.fill('#publish-form [name="topic"]', "https://example.com/by-the-operator")
      await page.click('#publish-form button[type="submit"]')
      await page.waitForSelector('#publish-result[data-tone="good"]')
      expect(errors).toEqual([])
      await page.close()
    } finally {
      await stopHub(hub)
    }
  })
})

describe.skipIf(executablePath === undefined || !redisInstalled)("the dashboard while Redis is away", () => {
  it("says the newest updates and the Durable Streams are unavailable, not that there are none", async () => {
    const redis = await startRedis()
    const hub = await startHub(["--engine", redis.url, "--port", "0"], { cwd: tempCwd() })
    try {
      const { page, errors } = await openDashboard(new URL(hub.hubUrl).origin)
      await page.waitForSelector('#status[data-state="live"]')
      await page.waitForFunction(() =>
        document.querySelector("#streams")?.textContent?.includes("No stream yet"),
      )
      expect(await page.textContent("#recent")).toContain("Nothing published yet")

      await redis.stop()
      // The streams' listing is refreshed every 5 s; a page that never says so fails within the test's time.
      const within = { timeout: 12_000 }
      await page.waitForFunction(
        () => document.querySelector("#recent")?.textContent?.includes("Unavailable"),
        undefined,
        within,
      )
      await page.waitForFunction(
        () => document.querySelector("#streams")?.textContent?.includes("Unavailable"),
        undefined,
        within,
      )
      expect(await page.textContent("#recent")).toMatch(/^Unavailable: the engine did not answer \(.+\)\.$/)
      expect(await page.textContent("#streams-count")).toBe("unavailable")
      expect(errors).toEqual([])
      await page.close()
    } finally {
      await stopHub(hub)
      await redis.destroy()
    }
  })
})
