import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { createParser, encode } from "../../src/protocol/index.js"
import { collect } from "./collect.js"
import { referenceParse } from "./reference-parser.js"

/** Pieces that exercise every branch of the parser: field names, separators, every line end, BOM, NUL, non-ASCII. */
const streamPiece = fc.constantFrom(
  "data",
  "data:",
  "data: ",
  "event:",
  "event: ",
  "id:",
  "id: ",
  "retry:",
  "retry: ",
  ":",
  ": ",
  " ",
  "\t",
  "\n",
  "\r",
  "\r\n",
  "\n\n",
  "\0",
  "\uFEFF",
  "x",
  "42",
  "0300",
  "\u00e9",
  "\u{1F600}",
  "Data:",
  "dat",
  // Whole lines and blocks, so well-formed streams (and the parser's fast paths) come up often.
  "id: 7\n",
  "event: t\n",
  "retry: 10\n",
  "data: a\n\n",
  "data: b\r\n\r\n",
  "data: c\r\r",
)
const stream = fc
  .array(fc.oneof(streamPiece, fc.string({ maxLength: 6 })), { maxLength: 60 })
  .map((parts) => parts.join(""))

/**
 * Bytes around UTF-8's edges: whole characters of each length, lead bytes whose second byte the
 * Encoding Standard narrows (E0, ED, F0, F4) with bytes just inside and outside those ranges, and
 * bytes no UTF-8 holds. Mixed at random they make truncated, overlong and invalid sequences.
 */
const bytePiece = fc.constantFrom(
  [0x64, 0x61, 0x74, 0x61, 0x3a, 0x20], // "data: "
  [0x0a],
  [0x0a, 0x0a],
  [0x0d, 0x0a],
  [0xef, 0xbb, 0xbf], // BOM
  [0x61],
  [0xc3, 0xa9],
  [0xe2, 0x82, 0xac],
  [0xf0, 0x9f, 0x98, 0x80],
  [0x80],
  [0x8f],
  [0x90],
  [0x9f],
  [0xa0],
  [0xbf],
  [0xc0],
  [0xc1],
  [0xc2],
  [0xe0],
  [0xed],
  [0xf0],
  [0xf4],
  [0xf5],
  [0xff],
)

/** Cuts `length` units into chunks at the given (sorted, deduplicated) positions. */
function cut<T extends string | Uint8Array>(whole: T, positions: number[]): T[] {
  const points = [...new Set(positions.map((p) => p % (whole.length + 1)))].sort((a, b) => a - b)
  const chunks: T[] = []
  let start = 0
  for (const point of [...points, whole.length]) {
    chunks.push(whole.slice(start, point) as T)
    start = point
  }
  return chunks
}

const cutPositions = fc.array(fc.nat(), { maxLength: 20 })

describe("properties", () => {
  it("matches the reference algorithm on any stream, however it is cut into strings", () => {
    fc.assert(
      fc.property(stream, cutPositions, (text, positions) => {
        expect(collect(cut(text, positions))).toEqual(referenceParse(text))
      }),
      { numRuns: 3000 },
    )
  })

  it("gives the same result for bytes cut anywhere, including inside a character", () => {
    fc.assert(
      fc.property(stream, cutPositions, (text, positions) => {
        const bytes = new TextEncoder().encode(text)
        // ignoreBOM keeps the BOM for the reference to drop: TextDecoder would drop one itself.
        const decoded = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes)
        expect(collect(cut(bytes, positions))).toEqual(referenceParse(decoded))
      }),
      { numRuns: 2000 },
    )
  })

  it("decodes bytes cut anywhere as one streaming TextDecoder, invalid and truncated characters included", () => {
    fc.assert(
      fc.property(fc.array(bytePiece, { maxLength: 40 }), cutPositions, (pieces, positions) => {
        const bytes = Uint8Array.from(pieces.flat())
        const decoded = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes)
        expect(collect(cut(bytes, positions))).toEqual(referenceParse(decoded))
      }),
      { numRuns: 3000 },
    )
  })

  it("reports every line at the byte chunk that ends it, as a parser of the decoded text does", () => {
    // Bytes after a chunk's last line end may be held back undecoded: nothing they hold may be late.
    const recorder = () => {
      const seen: unknown[] = []
      const parser = createParser({
        onEvent: (event) => seen.push(event),
        onRetry: (ms) => seen.push(ms),
        onComment: (text) => seen.push(`:${text}`),
      })
      return { seen, parser }
    }
    fc.assert(
      fc.property(stream, cutPositions, (text, positions) => {
        const bytes = recorder()
        const strings = recorder()
        const decoder = new TextDecoder("utf-8", { ignoreBOM: true })
        for (const chunk of cut(new TextEncoder().encode(text), positions)) {
          bytes.parser.feed(chunk)
          strings.parser.feed(decoder.decode(chunk, { stream: true }))
          expect(bytes.seen).toEqual(strings.seen)
          expect(bytes.parser.lastEventId).toBe(strings.parser.lastEventId)
        }
      }),
      { numRuns: 2000 },
    )
  })

  it("drops one BOM only, even when the stream starts with two (bytes)", () => {
    const bytes = new TextEncoder().encode("\uFEFF\uFEFFdata: c\r\r")
    expect(collect([bytes]).events).toEqual([])
  })

  it("gives the same result fed one byte at a time", () => {
    fc.assert(
      fc.property(stream, (text) => {
        const bytes = new TextEncoder().encode(text)
        const oneByOne = Array.from(bytes, (byte) => Uint8Array.of(byte))
        expect(collect(oneByOne)).toEqual(collect([text]))
      }),
      { numRuns: 500 },
    )
  })

  it("round-trips arbitrary Unicode data, types and ids through encode", () => {
    const noBreaks = (s: string) => !/[\r\n\0]/.test(s)
    const event = fc.record({
      data: fc.string({ unit: "grapheme", maxLength: 40 }),
      event: fc.string({ unit: "grapheme", minLength: 1, maxLength: 10 }).filter(noBreaks),
      id: fc.string({ unit: "grapheme", maxLength: 10 }).filter(noBreaks),
    })
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 8 }), cutPositions, (events, positions) => {
        const bytes = new TextEncoder().encode(events.map((e) => encode(e)).join(""))
        const parsed = collect(cut(bytes, positions)).events
        // CRLF and CR in data come back as LF: the format has one line separator in data.
        const expected = events.map((e) => ({
          type: e.event,
          data: e.data.replace(/\r\n|\r/g, "\n"),
          lastEventId: e.id,
        }))
        expect(parsed).toEqual(expected)
      }),
      { numRuns: 1000 },
    )
  })

  it("never throws on random bytes", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (chunks) => {
        const parser = createParser({ onEvent: () => {}, onRetry: () => {}, onComment: () => {} })
        for (const chunk of chunks) parser.feed(chunk)
        parser.end()
      }),
      { numRuns: 2000 },
    )
  })
})
