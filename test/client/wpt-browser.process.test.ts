// The same ported WPT case list as wpt-node.test.ts, run in Chromium: on Herald's EventSource
// bundled for the browser (in a page and in a dedicated worker), and on Chromium's own
// EventSource, which checks that the ported cases say what browsers do.
import { build } from "esbuild"
import type { Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { findChromium, launchChromium } from "./browser.js"
import type { Implementation } from "./wpt/browser-entry.js"
import { wptCases } from "./wpt/cases.js"
import type { CaseResult } from "./wpt/harness.js"
import { startWptServer, type WptServer } from "./wpt/server.js"

const executablePath = findChromium()
const implementations: Implementation[] = ["herald", "herald-worker", "native"]

/**
 * Where Chromium's own EventSource departs from the spec (and from SSE-RULES.md). These cases
 * must keep failing on it: the test fails if Chromium ever changes, so this list stays true.
 */
const nativeDeviations = new Map<string, string>([
  ...[301, 302, 303, 307, 308].map((status): [string, string] => [
    `request-redirect: a ${status} is followed; reconnection goes to the original URL`,
    "Chromium reconnects to the redirect target",
  ]),
  [
    "format-mime-valid-2: the body is UTF-8 whatever charset says",
    "Chromium refuses a charset other than UTF-8",
  ],
])

let server: WptServer | undefined
let browser: Browser | undefined
const results = new Map<Implementation, Map<string, CaseResult>>()

beforeAll(async () => {
  if (!executablePath) return
  server = await startWptServer()
  const bundle = await build({
    entryPoints: [new URL("./wpt/browser-entry.ts", import.meta.url).pathname],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
  })
  server.setAsset("/wpt.js", bundle.outputFiles[0]?.text ?? "", "text/javascript")
  server.setAsset("/index.html", '<!doctype html><script type="module" src="/wpt.js"></script>', "text/html")
  browser = await launchChromium(executablePath)
  const origin = server.origin
  await Promise.all(
    implementations.map(async (implementation) => {
      const page = await (browser as Browser).newPage()
      await page.goto(`${origin}/index.html`)
      await page.waitForFunction(() => "heraldWpt" in globalThis)
      const list = await page.evaluate(
        (name) =>
          (globalThis as unknown as { heraldWpt: { run(n: string): Promise<CaseResult[]> } }).heraldWpt.run(
            name,
          ),
        implementation,
      )
      results.set(implementation, new Map(list.map((result) => [result.name, result])))
      await page.close()
    }),
  )
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

for (const implementation of implementations) {
  describe.skipIf(!executablePath)(`WPT eventsource/ in Chromium: ${implementation}`, () => {
    for (const testCase of wptCases) {
      const deviation = implementation === "native" ? nativeDeviations.get(testCase.name) : undefined
      it(deviation ? `${testCase.name} (known deviation: ${deviation})` : testCase.name, () => {
        const result = results.get(implementation)?.get(testCase.name)
        expect(result, "the case ran").toBeDefined()
        if (deviation) expect(result?.ok, "Chromium still deviates here").toBe(false)
        else expect(result?.error).toBeUndefined()
      })
    }
  })
}
