import type { Frame } from "./queue.js"

const CRLF_LENGTH = 2

// One-entry memo: a channel writes the same frame to thousands of sockets in a row, so the
// chunk is built once per frame, not once per subscriber. Kept for one turn of the event loop
// (see forgetLastChunk): a frame's bytes may be reused by its owner after that, and a large one
// is not held on for ever.
let lastFrame: Frame | undefined
let lastChunk: Buffer | undefined

/** Ends the memo; the writer calls it at the end of each turn that wrote. */
export function forgetLastChunk(): void {
  lastFrame = undefined
  lastChunk = undefined
}

/**
 * A frame as one HTTP/1.1 chunk (RFC 9112 §7.1: `chunk-size CRLF chunk-data CRLF`), ready to
 * write to the socket in a single call.
 */
export function http1Chunk(frame: Frame): Buffer {
  if (frame === lastFrame && lastChunk !== undefined) return lastChunk
  const body = typeof frame === "string" ? Buffer.from(frame, "utf8") : frame
  const sizeLine = `${body.byteLength.toString(16)}\r\n`
  const chunk = Buffer.allocUnsafe(sizeLine.length + body.byteLength + CRLF_LENGTH)
  const offset = chunk.write(sizeLine, 0, "latin1")
  chunk.set(body, offset)
  chunk.write("\r\n", offset + body.byteLength, "latin1")
  lastFrame = frame
  lastChunk = chunk
  return chunk
}
