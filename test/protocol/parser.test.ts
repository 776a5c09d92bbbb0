import { describe, expect, it } from "vitest"
import { createParser, ParseError } from "../../src/protocol/index.js"
import { collect, dataOf } from "./collect.js"

const bytesOf = (text: string) => new TextEncoder().encode(text)

describe("line ends", () => {
  it("treats a CR at the end of one chunk and an LF at the start of the next as one line end", () => {
    // Were they two line ends, the empty line between them would dispatch "a" on its own.
    expect(dataOf(["data: a\r", "\ndata: b\r", "\n\r", "\n"])).toEqual(["a\nb"])
  })

  it("treats a CR at the end of a chunk followed by another line as a line end", () => {
    expect(dataOf(["data: a\r", "data: b\r\r"])).toEqual(["a\nb"])
  })

  it("handles a CR-terminated blank line straight after a data line", () => {
    expect(dataOf(["data: a\n\rdata: b\r\r\ndata: c\r\n\r\n"])).toEqual(["a", "b", "c"])
  })

  it("keeps a pending CRLF decision across an empty chunk", () => {
    expect(dataOf(["data: a\r", "", "\n", "\n"])).toEqual(["a"])
  })
})

describe("UTF-8 decoding", () => {
  it("decodes a character split across chunks", () => {
    const bytes = bytesOf("data: \u{1F600}\u00e9\n\n")
    const chunks = Array.from(bytes, (byte) => Uint8Array.of(byte))
    expect(dataOf(chunks)).toEqual(["\u{1F600}\u00e9"])
  })

  it("turns invalid bytes into U+FFFD", () => {
    const chunk = Uint8Array.of(...bytesOf("data: a"), 0xff, 0xc3, ...bytesOf("b\n\n"))
    expect(dataOf([chunk])).toEqual(["a\uFFFD\uFFFDb"])
  })

  it("turns a truncated character at the end of the stream into U+FFFD and discards the block", () => {
    const result = collect([Uint8Array.of(...bytesOf("data: ok\n\ndata: "), 0xe2, 0x98)])
    expect(result.events.map((event) => event.data)).toEqual(["ok"])
  })

  it("decodes bytes at the end of a chunk at once when no later byte can make them a character", () => {
    // The string chunk between shows when they were decoded: a held byte would land after it.
    const chunks = [Uint8Array.of(...bytesOf("data: a"), 0xe0, 0x80), "b", Uint8Array.of(0xf5), "c\n\n"]
    expect(dataOf(chunks)).toEqual(["a\uFFFD\uFFFDb\uFFFDc"])
  })

  it("mixes string and byte chunks", () => {
    expect(dataOf(["data: a", bytesOf("b\n"), "\n"])).toEqual(["ab"])
  })
})

describe("last event ID", () => {
  it("is updated by an id-only block that dispatches nothing", () => {
    const parser = createParser({ onEvent: () => {} })
    parser.feed("id: 42\n\n")
    expect(parser.lastEventId).toBe("42")
  })

  it("does not take effect from an unterminated block", () => {
    const parser = createParser({ onEvent: () => {} })
    parser.feed("id: 1\n\nid: 2\ndata: x\n")
    parser.end()
    expect(parser.lastEventId).toBe("1")
  })

  it("starts from the lastEventId option", () => {
    const result = collect(["data: x\n\n"], { lastEventId: "resume-7" })
    expect(result.events[0]?.lastEventId).toBe("resume-7")
  })

  it("keeps an id with non-ASCII characters exactly", () => {
    expect(collect(["id: \u00e9\u{1F600}\ndata: x\n\n"]).events[0]?.lastEventId).toBe("\u00e9\u{1F600}")
  })
})

describe("fields", () => {
  it("ignores a retry that is not all digits", () => {
    expect(collect(["retry: 1e3\nretry: -1\nretry:  5\nretry: 12 \nretry: 7\n\n"]).retries).toEqual([7])
  })

  it("reports comments without the colon and one space", () => {
    expect(collect([": keep-alive\n:raw\n:  two\n\n"]).comments).toEqual(["keep-alive", "raw", " two"])
  })

  it("takes a line with no colon as a field with an empty value", () => {
    expect(collect(["event\ndata\n\n"]).events).toEqual([{ type: "message", data: "", lastEventId: "" }])
  })

  it("splits a field at the first colon only", () => {
    expect(dataOf(["data: a:b: c\n\n"])).toEqual(["a:b: c"])
  })

  it("does not confuse a field name that starts like a known one", () => {
    expect(collect(["datax: 1\nids: 2\nevents: 3\nretryx: 4\ndata: ok\n\n"])).toEqual({
      events: [{ type: "message", data: "ok", lastEventId: "" }],
      retries: [],
      comments: [],
      lastEventId: "",
    })
  })

  it("dispatches nothing for a block without data, and resets its type", () => {
    expect(collect(["event: a\n\ndata: x\n\n"]).events).toEqual([
      { type: "message", data: "x", lastEventId: "" },
    ])
  })
})

describe("long lines", () => {
  // Some 100k characters, every one at its own place: a piece lost, doubled or out of order shows.
  const long = Array.from({ length: 20_000 }, (_, i) => `${i}\u00e9`).join(",")
  const stream = `data: ${long}\rdata: ${long}\n\n`

  it("joins a line that spans thousands of small string chunks", () => {
    const chunks = stream.match(/[\s\S]{1,7}/g) ?? []
    expect(dataOf(chunks)).toEqual([`${long}\n${long}`])
  })

  it("joins a line that spans thousands of small byte chunks", () => {
    const bytes = bytesOf(stream)
    const chunks = Array.from({ length: Math.ceil(bytes.length / 5) }, (_, i) =>
      bytes.subarray(i * 5, i * 5 + 5),
    )
    expect(dataOf(chunks)).toEqual([`${long}\n${long}`])
  })
})

describe("end of stream", () => {
  it("discards the unterminated block, then reads a new stream with a fresh BOM", () => {
    const events: string[] = []
    const parser = createParser({ onEvent: (event) => events.push(event.data) })
    parser.feed("data: first\n\ndata: lost")
    parser.end()
    parser.feed("\uFEFFdata: second\n\n")
    expect(events).toEqual(["first", "second"])
  })
})

describe("bounded memory", () => {
  it("throws a ParseError when an unterminated line outgrows maxEventSize", () => {
    const parser = createParser({ onEvent: () => {} }, { maxEventSize: 100 })
    parser.feed(`data: ${"x".repeat(50)}`)
    expect(() => parser.feed("y".repeat(60))).toThrow(ParseError)
  })

  it("throws when the data gathered for one event outgrows maxEventSize", () => {
    const parser = createParser({ onEvent: () => {} }, { maxEventSize: 100 })
    const line = `data: ${"x".repeat(40)}\n`
    expect(() => parser.feed(line.repeat(3))).toThrowError(/maxEventSize \(100 characters\)/)
  })

  it("counts a single line inside one chunk against the limit too", () => {
    const parser = createParser({ onEvent: () => {} }, { maxEventSize: 10 })
    let error: unknown
    try {
      parser.feed(`data: ${"x".repeat(11)}\n\n`)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ParseError)
    expect((error as ParseError).code).toBe("event-too-large")
  })

  it("accepts events up to the limit", () => {
    const events: string[] = []
    const parser = createParser({ onEvent: (event) => events.push(event.data) }, { maxEventSize: 10 })
    parser.feed(`data: ${"x".repeat(10)}\n\ndata: ${"y".repeat(5)}\ndata: ${"z".repeat(4)}\n\n`)
    expect(events).toEqual(["x".repeat(10), `${"y".repeat(5)}\n${"z".repeat(4)}`])
  })
})

describe("handler errors", () => {
  it("parses the whole chunk, then rethrows the first error", () => {
    const seen: string[] = []
    const parser = createParser({
      onEvent(event) {
        seen.push(event.data)
        if (event.data === "1") throw new Error("boom")
      },
    })
    expect(() => parser.feed("data: 1\n\ndata: 2\n\n")).toThrowError("boom")
    expect(seen).toEqual(["1", "2"])
    parser.feed("data: 3\n\n")
    expect(seen).toEqual(["1", "2", "3"])
  })
})
