import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { createParser, encode } from "../../src/protocol/index.js"
import { collect } from "./collect.js"
import { referenceProperties } from "./reference-properties.js"
import { cut, cutPositions, stream } from "./stream-arbitraries.js"

describe("properties", () => {
  // A few thousand runs each here; the parser-fuzz bench runs them by the hundred thousand.
  for (const [claim, property] of Object.entries(referenceProperties)) {
    it(claim, () => {
      fc.assert(property, { numRuns: 2000 })
    })
  }

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
