import { describe, expect, it } from "vitest"
import { encode } from "../../src/protocol/index.js"

describe("encode", () => {
  it("writes the fields in a fixed order, `data: ` with its space, and a closing blank line", () => {
    expect(encode({ comment: "hi", event: "token", id: "7", retry: 1500, data: " padded" })).toBe(
      ": hi\nevent: token\nid: 7\nretry: 1500\ndata:  padded\n\n",
    )
  })

  it("turns CR, LF and CRLF in data into separate data lines", () => {
    expect(encode({ data: "a\r\nb\rc\nd" })).toBe("data: a\ndata: b\ndata: c\ndata: d\n\n")
  })

  it("keeps empty data as one empty data line, which still dispatches", () => {
    expect(encode({ data: "" })).toBe("data: \n\n")
    expect(encode({ data: "\n" })).toBe("data: \ndata: \n\n")
  })

  it("splits a multi-line comment into comment lines", () => {
    expect(encode({ comment: "a\nb" })).toBe(": a\n: b\n\n")
  })

  it("writes an id-only frame (updates the client's last event ID) and an empty id (resets it)", () => {
    expect(encode({ id: "" })).toBe("id: \n\n")
  })

  it.each([
    ["event", "a\nb"],
    ["event", "a\rb"],
    ["event", "a\0b"],
    ["id", "1\n"],
    ["id", "\r1"],
    ["id", "1\0"],
  ])("refuses %s %j, which would inject a field", (field, value) => {
    expect(() => encode({ [field]: value, data: "x" })).toThrowError(/must not contain CR, LF or NUL/)
  })

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60])("refuses retry %s", (retry) => {
    expect(() => encode({ retry, data: "x" })).toThrowError(RangeError)
  })

  it("refuses an empty frame", () => {
    expect(() => encode({})).toThrowError(/at least one of/)
  })
})
