// Chromium against `herald serve --tls-cert --tls-key`: ten EventSources on one origin, all live
// at once. Over HTTP/1.1 Chromium opens six connections per origin and the other four would wait;
// over HTTP/2 they are streams of one connection.

import type { Browser } from "playwright-core"
import { afterAll, describe, expect, it } from "vitest"
import { findChromium, launchChromium } from "../client/browser.js"
import { useCliProcesses } from "./cli-helpers.js"
import { connectH2, h2Publish, hasOpenssl, startTlsHub, untilConnections } from "./tls-helpers.js"

useCliProcesses()

const executablePath = findChromium()
const SOURCES = 10
const TOPIC = "https://example.com/books/1"

let browser: Browser | undefined
afterAll(async () => {
  await browser?.close()
})

describe.skipIf(executablePath === undefined || !hasOpenssl())("Chromium over HTTP/2", () => {
  it("keeps 10 EventSources on one origin live at once, over h2 with a self-signed certificate", async () => {
    const { hub, certificate, origin } = await startTlsHub()
    browser = await launchChromium(executablePath as string)
    // The test's own certificate: trusted for this context only.
    const context = await browser.newContext({ ignoreHTTPSErrors: true })
    const page = await context.newPage()
    // Same origin as the hub, so that dev mode lets the page subscribe without a token.
    await page.goto(`${origin}/healthz`)
    expect(
      await page.evaluate(() => performance.getEntriesByType("navigation")[0]?.toJSON().nextHopProtocol),
    ).toBe("h2")
    await page.evaluate(
      ({ url, count }) => {
        const received: string[][] = []
        for (let index = 0; index < count; index++) {
          const events: string[] = []
          received.push(events)
          new EventSource(url).onmessage = (event) => events.push(event.data)
        }
        ;(globalThis as unknown as { received: string[][] }).received = received
      },
      { url: `${hub.hubUrl}?topic=${encodeURIComponent(TOPIC)}`, count: SOURCES },
    )

    const session = await connectH2(origin, certificate.ca)
    // All ten streams are open on the hub at once: more than HTTP/1.1's six per origin.
    await untilConnections(session, SOURCES, 10_000)
    expect((await h2Publish(session, new URL(hub.hubUrl).pathname, TOPIC, "to every tab")).status).toBe(200)
    await page.waitForFunction(
      (count) => {
        const received = (globalThis as unknown as { received: string[][] }).received
        return received.length === count && received.every((events) => events[0] === "to every tab")
      },
      SOURCES,
      { timeout: 10_000 },
    )
    session.close()
    await context.close()
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })
})
