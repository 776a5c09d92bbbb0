// Launches Debian's Chromium through playwright-core (never a downloaded browser). Without a
// Chromium the browser tests skip — except under HERALD_TEST_STRICT=1 (CI), where they fail.
import { execFileSync } from "node:child_process"
import { type Browser, chromium } from "playwright-core"

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

/** The Chromium executable, or undefined when there is none (strict mode throws instead). */
export function findChromium(): string | undefined {
  try {
    return execFileSync("which", ["chromium"], { encoding: "utf8" }).trim() || undefined
  } catch {
    if (process.env.HERALD_TEST_STRICT === "1") {
      throw new Error("HERALD_TEST_STRICT=1 and no chromium on PATH: install Debian's chromium package.")
    }
    return undefined
  }
}

export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, args: LAUNCH_ARGS })
}
