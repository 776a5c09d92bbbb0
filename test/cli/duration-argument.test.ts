import { InvalidArgumentError } from "commander"
import { describe, expect, it } from "vitest"
import { durationArgument } from "../../src/cli/duration-argument.js"

describe("durationArgument", () => {
  const parse = durationArgument(1000, 3_600_000)

  it("reads units and bare milliseconds within the bounds", () => {
    expect(parse("10s")).toBe(10_000)
    expect(parse("1500ms")).toBe(1500)
    expect(parse("2000")).toBe(2000)
    expect(parse("1h")).toBe(3_600_000)
  })

  it("says which unit to add when a bare number falls under the minimum", () => {
    expect(() => parse("10")).toThrow(InvalidArgumentError)
    expect(() => parse("10")).toThrow(
      '10 ms is under the 1s minimum (a bare number is milliseconds): add a unit, e.g. "10s"',
    )
    expect(() => parse("500ms")).toThrow("under the 1s minimum")
  })

  it("refuses what is not a duration, and what is over the maximum", () => {
    expect(() => parse("soon")).toThrow('expected a duration such as "10s" or "1500ms"')
    expect(() => parse("2h")).toThrow("at most 1h")
    expect(durationArgument(0, 60_000)("0")).toBe(0)
  })
})
