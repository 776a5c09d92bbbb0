// Streams for property tests of the parser, shared by test/protocol/properties.test.ts and the
// large-run parser fuzz in bench/: text built from the pieces that reach every branch, bytes
// around UTF-8's edges, and cuts into chunks at arbitrary places.
import fc from "fast-check"

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
export const stream = fc
  .array(fc.oneof(streamPiece, fc.string({ maxLength: 6 })), { maxLength: 60 })
  .map((parts) => parts.join(""))

/**
 * Bytes around UTF-8's edges: whole characters of each length, lead bytes whose second byte the
 * Encoding Standard narrows (E0, ED, F0, F4) with bytes just inside and outside those ranges, and
 * bytes no UTF-8 holds. Mixed at random they make truncated, overlong and invalid sequences.
 */
export const bytePiece = fc.constantFrom(
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
export function cut<T extends string | Uint8Array>(whole: T, positions: number[]): T[] {
  const points = [...new Set(positions.map((p) => p % (whole.length + 1)))].sort((a, b) => a - b)
  const chunks: T[] = []
  let start = 0
  for (const point of [...points, whole.length]) {
    chunks.push(whole.slice(start, point) as T)
    start = point
  }
  return chunks
}

export const cutPositions = fc.array(fc.nat(), { maxLength: 20 })
