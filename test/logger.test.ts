import { afterEach, describe, expect, it, vi } from "vitest"
import { failureStreak, type Logger, REPEATED_WARNING_MS, repeatedWarning } from "../src/logger.js"
import { recordingLogger } from "./server/helpers.js"

describe("failureStreak", () => {
  it("logs a streak of failures once at its level, the rest at debug, and its end once", () => {
    const lines: [string, string][] = []
    const at = (level: string) => (_fields: object, message: string) => lines.push([level, message])
    const logger: Logger = { error: at("error"), warn: at("warn"), info: at("info"), debug: at("debug") }
    const streak = failureStreak(logger, "warn", { failed: "could not", recovered: "can again" })
    streak.succeeded()
    for (let i = 0; i < 3; i++) streak.failed(new Error("away"))
    streak.succeeded()
    streak.succeeded()
    streak.failed(new Error("away"))
    expect(lines).toEqual([
      ["warn", "could not"],
      ["debug", "could not"],
      ["debug", "could not"],
      ["info", "can again"],
      ["warn", "could not"],
    ])
  })
})

describe("repeatedWarning", () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it("warns the first time, counts the next ones, says how many every 30 s, and is quiet once they stop", () => {
    vi.useFakeTimers()
    const logger = recordingLogger()
    const warn = repeatedWarning(logger, {
      once: "a client is told to come back",
      more: (count, seconds) => `${count} more clients were told to come back in the last ${seconds} s`,
    })
    const warnings = () => logger.entries.filter((entry) => entry.level === "warn")
    for (let client = 0; client < 1000; client++) warn({ client })
    expect(warnings()).toEqual([
      { level: "warn", fields: { client: 0 }, message: "a client is told to come back" },
    ])
    vi.advanceTimersByTime(REPEATED_WARNING_MS)
    expect(warnings().slice(1)).toEqual([
      {
        level: "warn",
        fields: { client: 999, count: 999 },
        message: "999 more clients were told to come back in the last 30 s",
      },
    ])
    warn({ client: 1000 })
    vi.advanceTimersByTime(REPEATED_WARNING_MS)
    expect(
      warnings()
        .slice(2)
        .map((entry) => entry.fields),
    ).toEqual([{ client: 1000, count: 1 }])
    // A quiet window: nothing to say, and the next one is news again.
    vi.advanceTimersByTime(3 * REPEATED_WARNING_MS)
    expect(warnings()).toHaveLength(3)
    warn({ client: 1001 })
    expect(warnings()[3]).toMatchObject({
      fields: { client: 1001 },
      message: "a client is told to come back",
    })
  })
})
