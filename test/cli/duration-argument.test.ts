import { type Command, InvalidArgumentError, type Option } from "commander"
import { describe, expect, it } from "vitest"
import { benchCommand } from "../../src/cli/bench/command.js"
import { doctorCommand } from "../../src/cli/doctor/command.js"
import { durationArgument } from "../../src/cli/duration-argument.js"
import { listenCommand } from "../../src/cli/listen.js"
import { publishCommand } from "../../src/cli/publish.js"

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

describe("the client commands' durations", () => {
  const commands = {
    publish: publishCommand(),
    listen: listenCommand(),
    doctor: doctorCommand(),
    bench: benchCommand(),
  }
  const option = (command: Command, long: string): Option => {
    const found = command.options.find((candidate) => candidate.long === long)
    if (found === undefined) throw new Error(`${command.name()} has no ${long}`)
    return found
  }
  const parse = (command: Command, long: string, value: string): unknown =>
    option(command, long).parseArg?.(value, undefined)

  it("publish --timeout and --retry, listen --max-retry-delay take a unit, and mean ms as before", () => {
    expect(parse(commands.publish, "--timeout", "1s")).toBe(1000)
    expect(parse(commands.publish, "--retry", "5s")).toBe(5000)
    expect(parse(commands.publish, "--retry", "1500ms")).toBe(1500)
    expect(parse(commands.listen, "--max-retry-delay", "2m")).toBe(120_000)
    expect(option(commands.publish, "--timeout").defaultValue).toBe(30_000)
    expect(option(commands.listen, "--max-retry-delay").defaultValue).toBe(30_000)
    for (const [command, long] of [
      [commands.publish, "--timeout"],
      [commands.publish, "--retry"],
      [commands.listen, "--max-retry-delay"],
    ] as const) {
      expect(() => parse(command, long, "5000")).toThrow("a duration needs a unit: give 5000s or 5000ms")
      expect(() => parse(command, long, "0")).toThrow("under the 1ms minimum")
    }
    // A timer cannot wait longer than 2^31 - 1 ms: Node would fire it at once.
    expect(() => parse(commands.publish, "--timeout", "30d")).toThrow("at most 1d")
  })

  it("--help shows every duration's default with its unit, never as a bare number the option refuses", () => {
    const shown = {
      publish: ["--timeout <duration>", "(default: 30s)", "--retry <duration>"],
      listen: ["--max-retry-delay <duration>", "(default: 30s)"],
      doctor: ["(default: 20s)", "(default: 10s)"],
      bench: ["(default: 10s)", "(default: 1s)", "(default: 5s)"],
    }
    for (const [name, command] of Object.entries(commands)) {
      const help = command.helpInformation().replace(/\s+/g, " ")
      for (const text of shown[name as keyof typeof shown]) expect(help).toContain(text)
      for (const duration of command.options.filter((candidate) => candidate.flags.endsWith("<duration>")))
        expect(duration.defaultValueDescription ?? "none", duration.long).not.toMatch(/^\d+$/)
      expect(help).not.toMatch(/<ms>/)
    }
  })
})
