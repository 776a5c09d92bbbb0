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

  it("keeps a character cut in held bytes whole across a string chunk", () => {
    // The first chunk ends no line, so it is held; the string must still come after its text.
    const chunks = [Uint8Array.of(...bytesOf("data: a"), 0xc3), "b", Uint8Array.of(0xa9, 0x0a, 0x0a)]
    expect(dataOf(chunks)).toEqual(["ab\u00e9"])
  })

  it("decodes a chunk larger than a decoding piece, characters cut at the pieces' edges", () => {
    // "data: a" is 7 bytes, so every 16 KB edge falls inside a two-byte character.
    const data = `a${"\u00e9".repeat(40_000)}`
    expect(dataOf([bytesOf(`data: ${data}\n\n`)])).toEqual([data])
  })
})

describe("byte chunks held until a line ends", () => {
  it("treats a CR ending one byte chunk and an LF opening the next as one line end", () => {
    const chunks = ["data: a", "\r", "\ndata: b", "\r", "\n\r", "\n"].map(bytesOf)
    expect(dataOf(chunks)).toEqual(["a\nb"])
  })

  it("puts held bytes before a large chunk that ends their line", () => {
    const long = "b".repeat(1000)
    expect(dataOf([bytesOf("data: a"), bytesOf(`${long}\n\n`)])).toEqual([`a${long}`])
  })

  it("drops a BOM held back with the start of the first line, and only that one", () => {
    const chunks = [Uint8Array.of(0xef, 0xbb), Uint8Array.of(0xbf, ...bytesOf("da")), bytesOf("ta: x\n\n")]
    expect(dataOf(chunks)).toEqual(["x"])
    expect(dataOf([bytesOf("\uFEFFda"), bytesOf("\uFEFFta: x\n\n")])).toEqual([])
  })

  it("reports every line at the chunk that ends it", () => {
    const events: string[] = []
    const comments: string[] = []
    const parser = createParser({
      onEvent: (event) => events.push(event.data),
      onComment: (text) => comments.push(text),
    })
    parser.feed(bytesOf(": hi"))
    expect(comments).toEqual([])
    parser.feed(bytesOf("\ndata: a"))
    expect(comments).toEqual(["hi"])
    parser.feed(bytesOf("\n\nda"))
    expect(events).toEqual(["a"])
  })

  it("discards held bytes at the end of the stream, lastEventId unchanged, then reads a new stream", () => {
    const events: string[] = []
    const parser = createParser({ onEvent: (event) => events.push(event.data) })
    parser.feed(bytesOf("id: 1\ndata: first\n\nid: 2\ndata: lo"))
    parser.feed(bytesOf("st"))
    parser.end()
    expect(parser.lastEventId).toBe("1")
    parser.feed(bytesOf("\uFEFFdata: second\n\n"))
    expect(events).toEqual(["first", "second"])
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

  it("reports a retry too large for a number as the largest safe integer", () => {
    const huge = "9".repeat(400)
    expect(collect([`retry: ${huge}\nretry: 9007199254740993\n\n`]).retries).toEqual([
      Number.MAX_SAFE_INTEGER,
      Number.MAX_SAFE_INTEGER,
    ])
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

  it("does not let the discarded block's id reach the next stream's events", () => {
    const ids: string[] = []
    const parser = createParser({ onEvent: (event) => ids.push(event.lastEventId) })
    parser.feed("id: 1\ndata: first\n\nid: lost\ndata: x\n")
    parser.end()
    parser.feed("data: second\n\n")
    expect(ids).toEqual(["1", "1"])
    expect(parser.lastEventId).toBe("1")
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

  it("throws as soon as held bytes of an unterminated line outgrow maxEventSize", () => {
    const parser = createParser({ onEvent: () => {} }, { maxEventSize: 10 })
    parser.feed(bytesOf("data: 012"))
    expect(() => parser.feed(bytesOf("34"))).toThrowError(/maxEventSize \(10 characters\)/)
  })

  it("counts held bytes as the characters they decode to", () => {
    const events: string[] = []
    const parser = createParser({ onEvent: (event) => events.push(event.data) }, { maxEventSize: 7 })
    // 8 bytes, 7 characters: within the limit.
    parser.feed(bytesOf("data: \u00e9"))
    parser.feed(bytesOf("\n\n"))
    expect(events).toEqual(["\u00e9"])
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
