// The parsing cases of web-platform-tests `eventsource/format-*`: each stream the WPT server sends
// and what the page must observe, re-expressed at the parser level (the connection-level parts —
// MIME types, reconnection — are the client's tests).
import { describe, expect, it } from "vitest"
import { collect, dataOf } from "./collect.js"

const longString = "x".repeat(2 * 1024)

describe("WPT eventsource/format-*", () => {
  it("format-bom: only the first BOM is dropped; a later one becomes part of a field name", () => {
    expect(dataOf(["\uFEFFdata:1\n\n\uFEFFdata:2\n\ndata:3\n\n"])).toEqual(["1", "3"])
  })

  it("format-bom-2: two leading BOMs: the second makes the first line an unknown field", () => {
    expect(dataOf(["\uFEFF\uFEFFdata:1\n\ndata:2\n\ndata:3\n\n"])).toEqual(["2", "3"])
  })

  it("format-bom as bytes: EF BB BF is the BOM, even split across chunks", () => {
    const bytes = new TextEncoder().encode("\uFEFFdata:1\n\n")
    expect(dataOf([bytes.subarray(0, 1), bytes.subarray(1, 2), bytes.subarray(2)])).toEqual(["1"])
  })

  it("format-comments: comment lines between data lines, with every line ending", () => {
    const stream = `data:1\r:\0\n:\r\ndata:2\n:${longString}\rdata:3\n:data:fail\r:${longString}\ndata:4\n\n`
    expect(dataOf([stream])).toEqual(["1\n2\n3\n4"])
  })

  it("format-data-before-final-empty-line: an unterminated block at the end is not dispatched", () => {
    const result = collect(["retry:1000\ndata:test1\n\nid:test\ndata:test2"])
    expect(result.events.map((event) => event.data)).toEqual(["test1"])
    expect(result.lastEventId).toBe("")
  })

  it("format-field-data: empty data, bare `data` lines, and a value", () => {
    expect(dataOf(["data:\n\ndata\ndata\n\ndata:test\n\n"])).toEqual(["", "\n", "test"])
  })

  it("format-field-event-empty: an empty event field means `message`", () => {
    expect(collect(["event: \ndata:data\n\n"]).events).toEqual([
      { type: "message", data: "data", lastEventId: "" },
    ])
  })

  it("format-field-event: the type applies to one event only", () => {
    const types = collect(["event:test\ndata:x\n\ndata:x\n\n"]).events.map((event) => event.type)
    expect(types).toEqual(["test", "message"])
  })

  it("format-field-id: `id: 1` sets the last event ID", () => {
    expect(collect(["id: 1\ndata: x\n\n"]).events[0]?.lastEventId).toBe("1")
  })

  it("format-field-id-2: the last event ID is sticky, and an empty id resets it", () => {
    const ids = collect(["id:1\ndata:x\n\ndata:x\n\nid:\ndata:x\n\n"]).events.map(
      (event) => event.lastEventId,
    )
    expect(ids).toEqual(["1", "1", ""])
  })

  it("format-field-id-null: an id containing NUL is ignored", () => {
    const ids = collect(["id:1\ndata:a\n\nid:2\0\ndata:b\n\n"]).events.map((event) => event.lastEventId)
    expect(ids).toEqual(["1", "1"])
  })

  it("format-field-parsing: case-sensitive names, NULs, one leading space stripped", () => {
    const stream =
      "data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n"
    expect(dataOf([stream])).toEqual(["\0\n 2\n1\n3\n\n4"])
  })

  it("format-field-retry: digits only, base ten, leading zeros allowed", () => {
    expect(collect(["retry:03000\ndata:x\n\n"]).retries).toEqual([3000])
  })

  it("format-field-retry-bogus: a value with a non-digit is ignored", () => {
    expect(collect(["retry:3000\nretry:1000x\ndata:x\n\n"]).retries).toEqual([3000])
  })

  it("format-field-retry-empty: `retry` with no value is ignored", () => {
    expect(collect(["retry\ndata:test\n\n"]).retries).toEqual([])
  })

  it("format-field-unknown: unknown fields and lines without colons are ignored", () => {
    const stream = "data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n"
    expect(dataOf([stream])).toEqual(["test\n\ntest"])
  })

  it("format-leading-space: only one U+0020 is removed; a tab stays", () => {
    expect(dataOf(["data:\ttest\rdata: \ndata:test\n\n"])).toEqual(["\ttest\n\ntest"])
  })

  it("format-newlines: CRLF, LF and CR mixed", () => {
    expect(dataOf(["data:test\r\ndata\ndata:test\r\n\r"])).toEqual(["test\n\ntest"])
  })

  it("format-null-character: NUL is data", () => {
    expect(dataOf(["data:\0\n\n\n\n"])).toEqual(["\0"])
  })

  it("format-utf-8: the stream is UTF-8 whatever is claimed", () => {
    const bytes = new TextEncoder().encode("data:ok\u00e9\u2603\u{1F600}\n\n")
    expect(dataOf([bytes])).toEqual(["ok\u00e9\u2603\u{1F600}"])
  })

  it("event-data: multiple events, the last one unterminated", () => {
    expect(dataOf(["data:1\n\ndata:2\n\ndata:3"])).toEqual(["1", "2"])
  })
})
