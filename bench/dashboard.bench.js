// The dashboard at `/`: page weight (every file the page loads, as sent gzip'd and decoded) and
// time to first chart (navigation start to the chart's first drawing with data, which the page
// marks as `herald:first-chart`), in Debian's Chromium against a real `herald serve` on loopback.
// Cold loads each use a fresh browser context (empty cache); warm loads reload one context (every
// file revalidated by ETag: 304s). No peer serves the same page: the numbers are a budget to keep.
//
// Run: npm run bench -- dashboard   (HERALD_BENCH_RUNS=9 loads of each kind by default)
// HERALD_SCREENSHOT=docs/images/dashboard.png npm run bench -- dashboard also puts the page under
// a scripted load (subscribers, publishes, AI generations, Durable Streams) and saves a screenshot.
import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { chromium } from "playwright-core"
import { median, printTable } from "./stats.js"

const RUNS = Number(process.env.HERALD_BENCH_RUNS ?? 9)
const SCREENSHOT = process.env.HERALD_SCREENSHOT
const HERALD = fileURLToPath(new URL("../dist/cli/herald.js", import.meta.url))
const LAUNCH_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
]

/** Starts `herald serve` (sqlite in `cwd`, dev mode, a free port) and resolves with its origin. */
async function startHerald(cwd) {
  const child = spawn(process.execPath, [HERALD, "serve", "--port", "0"], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  })
  let output = ""
  const origin = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`herald serve did not start:\n${output}`)), 15_000)
    child.stdout.on("data", (chunk) => {
      output += chunk
      const match = /"hubUrl":"(https?:\/\/[^/"]+)/.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    child.stderr.on("data", (chunk) => {
      output += chunk
    })
    child.once("exit", (code) => reject(new Error(`herald serve exited (${code}):\n${output}`)))
  })
  return { child, origin }
}

/** Loads the page and resolves with its timings once the chart is drawn (bounded: 15 s). */
async function load(page, origin) {
  await page.goto(`${origin}/`)
  await page.waitForFunction(() => performance.getEntriesByName("herald:first-chart").length > 0, undefined, {
    timeout: 15_000,
  })
  return await page.evaluate(() => {
    const navigation = performance.getEntriesByType("navigation")[0]
    const files = [navigation, ...performance.getEntriesByType("resource")]
      // The admin stream is the page's data, not its weight; the HEAD /chat probe has no body.
      .filter((entry) => !entry.name.includes("/_herald/admin/") && !entry.name.endsWith("/chat"))
      .map((entry) => ({
        name: new URL(entry.name).pathname,
        sent: entry.encodedBodySize,
        decoded: entry.decodedBodySize,
        transfer: entry.transferSize,
      }))
    return {
      firstByte: navigation.responseStart,
      firstChart: performance.getEntriesByName("herald:first-chart")[0].startTime,
      domContentLoaded: navigation.domContentLoadedEventEnd,
      files,
    }
  })
}

/**
 * What a cold load costs Chromium here before any of the page's work: a fresh context loading a
 * tiny document with no script (`/healthz`), to DOMContentLoaded.
 */
async function blankLoad(browser, origin) {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${origin}/healthz`)
  const domContentLoaded = await page.evaluate(
    () => performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd,
  )
  await context.close()
  return { domContentLoaded }
}

const cwd = mkdtempSync(join(tmpdir(), "herald-dashboard-bench-"))
const { child, origin } = await startHerald(cwd)
const browser = await chromium.launch({
  executablePath: execFileSync("which", ["chromium"], { encoding: "utf8" }).trim(),
  args: LAUNCH_ARGS,
})
try {
  // The chart's history needs two samples, one a second: let the server take them first.
  await new Promise((resolve) => setTimeout(resolve, 2500))

  const cold = []
  const floor = []
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext()
    cold.push(await load(await context.newPage(), origin))
    await context.close()
    floor.push(await blankLoad(browser, origin))
  }
  const context = await browser.newContext()
  const page = await context.newPage()
  await load(page, origin)
  const warm = []
  for (let run = 0; run < RUNS; run++) warm.push(await load(page, origin))
  await context.close()

  const files = cold[0].files
  const total = (key) => files.reduce((sum, file) => sum + file[key], 0)
  printTable(
    "Page weight (bytes; gzip as served to Chromium)",
    ["file", "sent (gzip)", "decoded"],
    [
      ...files.map((file) => [file.name, file.sent.toLocaleString("en"), file.decoded.toLocaleString("en")]),
      [
        "**total**",
        `**${total("sent").toLocaleString("en")}**`,
        `**${total("decoded").toLocaleString("en")}**`,
      ],
    ],
  )
  const row = (label, loads, key) => {
    const values = loads.map((each) => each[key])
    return [label, median(values).toFixed(0), Math.min(...values).toFixed(0), Math.max(...values).toFixed(0)]
  }
  const revalidated = warm[0].files.reduce((sum, file) => sum + file.transfer, 0)
  printTable(
    `Time to first chart (ms from navigation start; ${RUNS} loads each; loopback)`,
    ["load", "median", "min", "max"],
    [
      row("floor: a fresh context loading `/healthz` (no script)", floor, "domContentLoaded"),
      row("cold: page's first byte", cold, "firstByte"),
      row("cold: DOMContentLoaded", cold, "domContentLoaded"),
      row("cold: **first chart**", cold, "firstChart"),
      row("warm (304s): page's first byte", warm, "firstByte"),
      row("warm (304s): DOMContentLoaded", warm, "domContentLoaded"),
      row("warm (304s): **first chart**", warm, "firstChart"),
    ],
  )
  console.log(`\nA warm load transfers ${revalidated.toLocaleString("en")} bytes (headers of 304s included).`)

  if (SCREENSHOT !== undefined) await screenshot(browser, origin, SCREENSHOT)
} finally {
  await browser.close()
  child.kill("SIGTERM")
  rmSync(cwd, { recursive: true, force: true })
}

/**
 * Two realistic minutes for the screenshot: subscribers on a few topics, bursts of publishes, demo
 * AI generations and two Durable Streams; then the page, full length, at a laptop's width.
 */
async function screenshot(browser, origin, path) {
  const hub = `${origin}/.well-known/mercure`
  const topics = [
    "https://example.com/books/1",
    "https://example.com/books/2",
    "https://example.com/orders/{id}",
    "https://example.com/users/42/inbox",
    "chat/room-7",
  ]
  const subscribers = new AbortController()
  for (let index = 0; index < 24; index++) {
    const params = new URLSearchParams({ topic: topics[index % topics.length] })
    if (index % 3 === 0) params.append("topic", topics[(index + 1) % topics.length])
    fetch(`${hub}?${params}`, { signal: subscribers.signal })
      .then(async (response) => {
        for await (const _ of response.body) {
        }
      })
      .catch(() => {})
  }
  const json = { "content-type": "application/json" }
  await fetch(`${origin}/v1/stream/orders/eu-west`, { method: "PUT", headers: json })
  await fetch(`${origin}/v1/stream/logs/build-42`, {
    method: "PUT",
    headers: { "content-type": "text/plain" },
  })
  for (let index = 0; index < 5; index++) {
    await fetch(`${origin}/v1/stream/orders/eu-west`, {
      method: "POST",
      headers: json,
      body: `{"order":${index}}`,
    })
  }
  const generate = (content) =>
    fetch(`${origin}/v1/chat/completions`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ model: "demo", stream: true, messages: [{ role: "user", content }] }),
    })
      .then(async (response) => {
        for await (const _ of response.body) {
        }
      })
      .catch(() => {})
  let tick = 0
  const publishing = setInterval(() => {
    const burst = Math.max(
      0,
      Math.round(3 + 2 * Math.sin(tick / 9) + 3 * Math.random() - (tick % 70 < 8 ? 4 : 0)),
    )
    for (let index = 0; index < burst; index++) {
      const body = new URLSearchParams({
        topic: topics[(tick + index) % 2],
        data: JSON.stringify({ tick, status: "shipped" }),
      })
      if (index === 2) body.set("type", "order-update")
      fetch(hub, { method: "POST", body }).catch(() => {})
    }
    if (tick % 40 === 5) generate("What are server-sent events good for?")
    tick++
  }, 200)
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, colorScheme: "light" })
  await page.goto(`${origin}/`)
  // Long enough for the chart's two minutes to fill.
  await new Promise((resolve) => setTimeout(resolve, 120_000))
  await page.fill('#tail-form [name="topic"]', topics[0])
  await page.click("#tail-start")
  // One generation caught running.
  generate("And what are they not good for?")
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.screenshot({ path, fullPage: true })
  clearInterval(publishing)
  subscribers.abort()
  console.log(`\nScreenshot: ${path}`)
}
