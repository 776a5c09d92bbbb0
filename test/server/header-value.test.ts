import { validateHeaderValue } from "node:http"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { fromHeaderValue, readLastEventId, toHeaderValue } from "../../src/server/index.js"

/** What a header value is on the wire: one byte per character. */
const bytesOf = (value: string) => Buffer.from(value, "latin1")

describe("toHeaderValue / fromHeaderValue", () => {
  it("writes a value's UTF-8 bytes, one character per byte, and reads them back", () => {
    for (const text of ["42", "é", "中1", "emoji 🎉", "urn:uuid:5e94c686"]) {
      const value = toHeaderValue(text)
      expect(bytesOf(value)).toEqual(Buffer.from(text, "utf8"))
      expect(fromHeaderValue(value)).toBe(text)
    }
  })

  it("turns ASCII controls (tab aside) and lone surrogates into U+FFFD, so none reaches the wire", () => {
    expect(fromHeaderValue(toHeaderValue("a\u0001b\rc\nd\u0000e\u007ff"))).toBe(
      "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf",
    )
    expect(toHeaderValue("a\tb")).toBe("a\tb")
    expect(fromHeaderValue(toHeaderValue("x\ud800y"))).toBe("x\ufffdy")
  })

  it("never produces a value node:http or Fetch would refuse, whatever the input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        const value = toHeaderValue(text)
        validateHeaderValue("x-test", value)
        new Headers({ "x-test": value })
      }),
      { numRuns: 2000 },
    )
  })

  it("round-trips any text without controls or lone surrogates", () => {
    const text = fc
      .string({ unit: "grapheme" })
      .filter(
        (candidate) => ![...candidate].some((char) => (char < " " && char !== "\t") || char === "\u007f"),
      )
    fc.assert(fc.property(text, (candidate) => fromHeaderValue(toHeaderValue(candidate)) === candidate))
  })

  it("reads bytes that are not UTF-8 as Latin-1, and text a stack already decoded as it is", () => {
    expect(fromHeaderValue("\u00e9")).toBe("é")
    expect(fromHeaderValue("caf\u00e9 1")).toBe("café 1")
    expect(fromHeaderValue("中1")).toBe("中1")
  })

  it("is what readLastEventId uses for the Last-Event-ID header", () => {
    expect(readLastEventId(toHeaderValue("中1"), "/")).toBe("中1")
    expect(readLastEventId("\u00e9", "/")).toBe("é")
  })
})
