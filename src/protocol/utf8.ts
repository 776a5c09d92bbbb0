/**
 * Decodes a byte stream as UTF-8, chunk by chunk, exactly as one streaming `TextDecoder` would:
 * a character cut between chunks is decoded whole, invalid bytes become U+FFFD, a BOM is kept.
 *
 * Each chunk is decoded by a decoder that never streams. Node's `TextDecoder` decodes UTF-8 about
 * twice as fast that way (a SIMD path it turns off for good on the first `stream: true` call),
 * and nothing is lost: the bytes after the last character boundary are held for the next chunk.
 */
export class Utf8StreamDecoder {
  /** The start of a character the previous chunk cut off, or undefined. */
  private held: Uint8Array | undefined = undefined

  decode(chunk: Uint8Array): string {
    let bytes = chunk
    if (this.held !== undefined) {
      bytes = new Uint8Array(this.held.length + chunk.length)
      bytes.set(this.held)
      bytes.set(chunk, this.held.length)
      this.held = undefined
    }
    const boundary = lastBoundary(bytes)
    if (boundary === bytes.length) return wholeDecoder().decode(bytes)
    this.held = bytes.slice(boundary)
    return wholeDecoder().decode(bytes.subarray(0, boundary))
  }

  /** End of stream: a character still cut off is an error, one U+FFFD. */
  end(): string {
    const held = this.held
    this.held = undefined
    return held === undefined ? "" : wholeDecoder().decode(held)
  }
}

let shared: TextDecoder | undefined

/** One stateless decoder serves every stream. `ignoreBOM` keeps a BOM: the parser drops it itself, once per stream. */
function wholeDecoder(): TextDecoder {
  shared ??= new TextDecoder("utf-8", { ignoreBOM: true })
  return shared
}

/**
 * Where the last character of `bytes` that could still be completed by more bytes begins, or
 * `bytes.length` when there is none. Decoding up to there gives what a streaming decoder gives:
 * the bytes before it end in a finished character or in an error it has already reported.
 */
function lastBoundary(bytes: Uint8Array): number {
  const length = bytes.length
  // A character is at most 4 bytes, so a cut one starts within the last 3; continuation bytes
  // (10xxxxxx) are skipped back over to find its lead byte.
  for (let i = length - 1; i >= 0 && i >= length - 3; i--) {
    const byte = bytes[i] as number
    if (byte < 0x80) return length
    if (byte < 0xc0) continue
    const size = byte < 0xe0 ? 2 : byte < 0xf0 ? 3 : 4
    if (length - i >= size || byte < 0xc2 || byte > 0xf4) return length
    // The Encoding Standard narrows the second byte after some leads; outside that range the
    // decoder has already failed, and the bytes are decoded now.
    if (i + 1 < length && !fitsAfterLead(byte, bytes[i + 1] as number)) return length
    return i
  }
  return length
}

/**
 * Whether `second`, a continuation byte, may follow `lead`: no overlong forms after E0 and F0, no
 * surrogates after ED, nothing past U+10FFFF after F4.
 */
function fitsAfterLead(lead: number, second: number): boolean {
  if (lead === 0xe0) return second >= 0xa0
  if (lead === 0xed) return second <= 0x9f
  if (lead === 0xf0) return second >= 0x90
  if (lead === 0xf4) return second <= 0x8f
  return true
}
