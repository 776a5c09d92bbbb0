/** Chunks up to this many bytes are decoded up to their last line end, the rest held. */
const SMALL_CHUNK = 512

/** The most bytes held back for a line: past it, they are decoded and the parser keeps the text. */
const MAX_HELD = 16 * 1024

const HELD_INITIAL = 256

/** Views of the held bytes are kept for counts below this: lines of the usual few tens of bytes. */
const CACHED_VIEWS = 128

const LF = 10
const CR = 13

/**
 * Decodes a byte stream as UTF-8, chunk by chunk, exactly as one streaming `TextDecoder` would:
 * a character cut between chunks is decoded whole, invalid bytes become U+FFFD, a BOM is kept.
 *
 * Each piece is decoded by a decoder that never streams. Node's `TextDecoder` decodes UTF-8 about
 * twice as fast that way (a SIMD path it turns off for good on the first `stream: true` call),
 * and nothing is lost: bytes that could still be part of a character are held for the next chunk.
 * Small chunks are decoded up to their last line end only (see `decode`).
 */
export class Utf8StreamDecoder {
  /** Bytes not decoded yet, never holding a line end: the start of a line, or of a character, cut off. */
  private held = new Uint8Array(HELD_INITIAL)
  private heldCount = 0
  /** `held.subarray(0, n)` by n, each made once: making a view costs half as much as a decode call. */
  private views: Array<Uint8Array | undefined> = []

  /** How many bytes are held back, not decoded yet. */
  get heldLength(): number {
    return this.heldCount
  }

  /**
   * Decodes a chunk. A small one is decoded up to its last line end (an LF or CR byte) and the rest
   * held, so a chunk that ends no line costs no `TextDecoder` call (a call costs more than decoding
   * tens of bytes) and the parser gets whole lines. No character spans an ASCII byte, so the cut
   * gives what a streaming decoder gives. A large chunk, or one that would make the held bytes too
   * many, is decoded up to its last character boundary.
   */
  decode(chunk: Uint8Array): string {
    const length = chunk.length
    const count = this.heldCount
    if (length > SMALL_CHUNK || count + length > MAX_HELD) return this.decodeToBoundary(chunk)
    if (count === 0 && length !== 0) {
      // Whole lines, the usual chunk, are decoded as they are.
      const last = chunk[length - 1]
      if (last === LF || last === CR) return wholeDecoder().decode(chunk)
    }
    // The chunk is copied after the held bytes in one pass that notes its last line end.
    const total = count + length
    const held = this.reserve(total)
    let end = count
    for (let i = 0; i < length; i++) {
      const byte = chunk[i] as number
      held[count + i] = byte
      if (byte === LF || byte === CR) end = count + i + 1
    }
    if (end === count) {
      this.heldCount = total
      return ""
    }
    const text = wholeDecoder().decode(this.heldView(end))
    // The bytes after the last line end, at most a small chunk's, move to the front.
    let kept = 0
    for (let i = end; i < total; i++) held[kept++] = held[i] as number
    this.heldCount = kept
    return text
  }

  /** Decodes the held bytes up to their last character boundary: a string chunk comes next, or they grew too many. */
  flush(): string {
    const count = this.heldCount
    if (count === 0) return ""
    const held = this.held
    const boundary = lastBoundary(held, count)
    const text = wholeDecoder().decode(this.heldView(boundary))
    held.copyWithin(0, boundary, count)
    this.heldCount = count - boundary
    return text
  }

  private decodeToBoundary(chunk: Uint8Array): string {
    let bytes = chunk
    if (this.heldCount !== 0) {
      bytes = new Uint8Array(this.heldCount + chunk.length)
      bytes.set(this.held.subarray(0, this.heldCount))
      bytes.set(chunk, this.heldCount)
      this.heldCount = 0
    }
    const length = bytes.length
    const boundary = lastBoundary(bytes, length)
    if (boundary === length) return wholeDecoder().decode(bytes)
    this.hold(bytes, boundary, length)
    return wholeDecoder().decode(bytes.subarray(0, boundary))
  }

  private heldView(count: number): Uint8Array {
    if (count >= CACHED_VIEWS) return this.held.subarray(0, count)
    let view = this.views[count]
    if (view === undefined) {
      view = this.held.subarray(0, count)
      this.views[count] = view
    }
    return view
  }

  /** Appends `bytes[start, end)` to the held bytes. */
  private hold(bytes: Uint8Array, start: number, end: number): void {
    let count = this.heldCount
    const held = this.reserve(count + end - start)
    for (let i = start; i < end; i++) held[count++] = bytes[i] as number
    this.heldCount = count
  }

  /** The held bytes' buffer, grown to take `needed` bytes. */
  private reserve(needed: number): Uint8Array {
    const held = this.held
    if (needed <= held.length) return held
    const grown = new Uint8Array(Math.max(needed, held.length * 2))
    grown.set(held.subarray(0, this.heldCount))
    this.held = grown
    this.views = []
    return grown
  }
}

let shared: TextDecoder | undefined

/** One stateless decoder serves every stream. `ignoreBOM` keeps a BOM: the parser drops it itself, once per stream. */
function wholeDecoder(): TextDecoder {
  shared ??= new TextDecoder("utf-8", { ignoreBOM: true })
  return shared
}

/**
 * Where the last character of `bytes[0, length)` that could still be completed by more bytes
 * begins, or `length` when there is none. Decoding up to there gives what a streaming decoder gives:
 * the bytes before it end in a finished character or in an error it has already reported.
 */
function lastBoundary(bytes: Uint8Array, length: number): number {
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
