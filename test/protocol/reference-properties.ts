// The parser against the reference algorithm, as fast-check properties: run with a few thousand
// runs by test/protocol/properties.test.ts, and with hundreds of thousands by the parser-fuzz
// bench. Plain node:assert, so that the bench can bundle them without the test runner.
import { deepStrictEqual } from "node:assert/strict"
import fc from "fast-check"
import { collect, collectStreams } from "./collect.js"
import { referenceParse } from "./reference-parser.js"
import { bytePiece, cut, cutPositions, stream } from "./stream-arbitraries.js"

/** ignoreBOM keeps the BOM for the reference to drop: TextDecoder would drop one itself. */
const decode = (bytes: Uint8Array) => new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes)

/** Each property by what it claims. */
export const referenceProperties: Readonly<Record<string, fc.IRawProperty<unknown[]>>> = {
  "matches the reference algorithm on any stream, however it is cut into strings": fc.property(
    stream,
    cutPositions,
    (text, positions) => {
      deepStrictEqual(collect(cut(text, positions)), referenceParse(text))
    },
  ),

  "gives the same result for bytes cut anywhere, including inside a character": fc.property(
    stream,
    cutPositions,
    (text, positions) => {
      const bytes = new TextEncoder().encode(text)
      deepStrictEqual(collect(cut(bytes, positions)), referenceParse(decode(bytes)))
    },
  ),

  "decodes bytes cut anywhere as one streaming TextDecoder, invalid and truncated characters included":
    fc.property(fc.array(bytePiece, { maxLength: 40 }), cutPositions, (pieces, positions) => {
      const bytes = Uint8Array.from(pieces.flat())
      deepStrictEqual(collect(cut(bytes, positions)), referenceParse(decode(bytes)))
    }),

  "reads a stream after end() afresh, from the last event ID the ended one reached": fc.property(
    stream,
    stream,
    cutPositions,
    (first, second, positions) => {
      const ended = referenceParse(first)
      const next = referenceParse(second, ended.lastEventId)
      deepStrictEqual(collectStreams([cut(first, positions), cut(second, positions)]), {
        events: [...ended.events, ...next.events],
        retries: [...ended.retries, ...next.retries],
        comments: [...ended.comments, ...next.comments],
        lastEventId: next.lastEventId,
      })
    },
  ),
}
