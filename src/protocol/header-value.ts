/**
 * Header values that carry user data — event ids, cursors, etags, links — in both directions.
 *
 * HTTP/1.1 stacks (node:http, undici) treat a header as a Latin-1 byte string: each character is
 * one byte, and a character above U+00FF makes `writeHead` throw (`ERR_INVALID_CHAR`), as do
 * ASCII controls. EventSource sends `Last-Event-ID` as UTF-8 bytes. So Herald writes such a value
 * as its UTF-8 bytes, and reads a received one as UTF-8: any Unicode id round-trips, whichever
 * of a browser, Herald's client or a client echoing the bytes it received sends it back.
 */

const encoder = new TextEncoder()
const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * ASCII controls other than tab: no header may carry them (CR and LF would inject headers, the
 * others are refused by HTTP stacks). An SSE id may hold them (only NUL, CR, LF are barred there).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching controls is the point.
const CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f]/g
const NON_ASCII = /[\u0080-\uffff]/
const HIGH_BYTES = /[\u0080-\u00ff]/
const ABOVE_LATIN1 = /[\u0100-\uffff]/

/** Characters per `String.fromCharCode` call: well under any engine's argument limit. */
const CHUNK = 8192

/**
 * `text` as a header value that never makes an HTTP stack throw: its UTF-8 bytes, one character
 * per byte (what node:http and the Fetch `Headers` write as they are). ASCII controls other
 * than tab become U+FFFD, as a stream decoder shows bytes it cannot use; a lone surrogate does
 * too. Leading and trailing spaces survive on the wire, but HTTP parsers strip them on receipt.
 */
export function toHeaderValue(text: string): string {
  const safe = text.replace(CONTROLS, "\ufffd")
  if (!NON_ASCII.test(safe)) return safe
  const bytes = encoder.encode(safe)
  let value = ""
  for (let start = 0; start < bytes.length; start += CHUNK)
    value += String.fromCharCode(...bytes.subarray(start, start + CHUNK))
  return value
}

/**
 * Whether `text` starts or ends with a space or a tab (RFC 9110 OWS), which every HTTP parser
 * strips from a header value it receives: an event id that does comes back as `Last-Event-ID`
 * without it, and is found nowhere.
 */
export function hasEdgeWhitespace(text: string): boolean {
  return /^[ \t]|[ \t]$/.test(text)
}

/** What no header value carries back as itself (see {@link indexOfUncarried}). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching controls is the point.
const UNCARRIED = /[\u0000-\u0008\u000a-\u001f\u007f]|\p{Cs}/u

/**
 * The index of the first character of `text` that no received header value can hold, or -1: an
 * ASCII control other than tab (node:http answers 400 to a request carrying one) or a lone
 * surrogate (UTF-8 has no bytes for it: it is written as U+FFFD). An event id holding one never
 * comes back as `Last-Event-ID` as it was sent.
 */
export function indexOfUncarried(text: string): number {
  return text.search(UNCARRIED)
}

/**
 * A received header value (one character per byte, as HTTP stacks hand it over) as the text it
 * stands for: its bytes decoded as UTF-8 — the inverse of {@link toHeaderValue}. Bytes that are
 * not valid UTF-8 are read as Latin-1, which is what they most likely are (and what Herald wrote
 * before it wrote UTF-8), so a cursor echoed from an older response still resumes.
 */
export function fromHeaderValue(value: string): string {
  // All ASCII reads the same either way; a character above U+00FF means a stack already decoded it.
  if (!HIGH_BYTES.test(value) || ABOVE_LATIN1.test(value)) return value
  const bytes = Uint8Array.from(value, (char) => char.charCodeAt(0))
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return value
  }
}
