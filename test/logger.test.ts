import { describe, expect, it } from "vitest"
import { failureStreak, type Logger } from "../src/logger.js"

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
