// The serve logger: pino JSON lines when stdout is not a terminal, one readable line per entry
// when it is.
import { Writable } from "node:stream"
import { describe, expect, it } from "vitest"
import { createLogger, formatLine } from "../../src/cli/logger.js"

function sink(isTTY: boolean): { stream: Writable & { isTTY: boolean }; written: string[] } {
  const written: string[] = []
  const stream = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        written.push(String(chunk))
        done()
      },
    }),
    { isTTY },
  )
  return { stream, written }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are what is stripped
const plain = (text: string) => text.replace(/\x1b\[\d+m/g, "")

describe("createLogger", () => {
  it("writes pino JSON when the stream is not a terminal", async () => {
    const { stream, written } = sink(false)
    createLogger("info", stream).info({ port: 8080 }, "listening on http://localhost:8080")
    await new Promise((resolve) => setImmediate(resolve))
    const entry = JSON.parse(written.join("")) as Record<string, unknown>
    expect(entry).toMatchObject({ level: 30, port: 8080, msg: "listening on http://localhost:8080" })
  })

  it("writes one readable line per entry on a terminal, and honours the level", () => {
    const { stream, written } = sink(true)
    const logger = createLogger("info", stream)
    logger.debug("hidden")
    logger.warn({ engine: "memory", limits: { a: 1 } }, "updates are lost when the hub stops")
    expect(written).toHaveLength(1)
    expect(plain(written[0] ?? "")).toMatch(
      /^\d\d:\d\d:\d\d WARN {2}updates are lost when the hub stops engine=memory limits=\{"a":1\}\n$/,
    )
  })
})

describe("formatLine", () => {
  it("prints an error's stack on the lines after the message", () => {
    const line = JSON.stringify({
      level: 50,
      time: 0,
      msg: "boom",
      err: { message: "x", stack: "Error: x\n    at y" },
    })
    expect(plain(formatLine(line))).toMatch(/ERROR boom\nError: x\n {4}at y\n$/)
  })

  it("passes a line that is not JSON through", () => {
    expect(formatLine("not json\n")).toBe("not json\n")
  })
})
