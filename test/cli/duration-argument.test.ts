import { InvalidArgumentError } from "commander"
import { describe, expect, it } from "vitest"
import { durationArgument } from "../../src/cli/duration-argument.js"

describe("durationArgument", () => {
  const parse = durationArgument(1000, 3_600_000)

  it("reads durations with units within the bounds", () => {
    expect(parse("10s")).toBe(10_000)
    expect(parse("1500ms")).toBe(1500)
    expect(parse("1h")).toBe(3_600_000)
  })

  it("refuses a bare number but 0, naming the units it may have meant, as serve does", () => {
    for (const bare of ["10", "2000", " 1.5 "]) {
      expect(() => parse(bare)).toThrow(InvalidArgumentError)
      expect(() => parse(bare)).toThrow(`a duration needs a unit: give ${bare.trim()}s or ${bare.trim()}ms`)
    }
    expect(() => parse("500ms")).toThrow("under the 1s minimum")
  })

  it("refuses what is not a duration, and what is over the maximum", () => {
    expect(() => parse("soon")).toThrow('expected a duration such as "10s" or "1500ms"')
    expect(() => parse("2h")).toThrow("at most 1h")
    expect(durationArgument(0, 60_000)("0")).toBe(0)
  })
})
