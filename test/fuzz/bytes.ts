// Byte strings: the fuzz campaign's requests are built from strings whose characters are bytes
// (U+0000–U+00FF), so invalid UTF-8 and any control byte can be written, and fast-check prints a
// counterexample as text that can be read and pasted back.
import fc from "fast-check"

/** `text` as its UTF-8 bytes. */
export const utf8 = (text: string): string => Buffer.from(text, "utf8").toString("latin1")

/** `text` with each character cut to its low byte: what a Latin-1 stack would send. */
export const latin1 = (text: string): string =>
  Array.from(text, (char) => String.fromCharCode((char.codePointAt(0) as number) & 0xff)).join("")

/** The bytes of a byte string, for the socket. */
export const toBuffer = (bytes: string): Buffer => Buffer.from(bytes, "latin1")

/** Percent-encodes every byte but the URL Standard's unreserved ones. */
export const percentEncode = (bytes: string): string =>
  Array.from(bytes, (char) =>
    /[A-Za-z0-9\-._~]/.test(char)
      ? char
      : `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`,
  ).join("")

/** Sequences no valid UTF-8 holds: stray continuation, truncated, overlong, surrogate, too long. */
const invalidUtf8 = fc.constantFrom(
  "\x80",
  "\xff",
  "\xc3",
  "\xe4\xb8",
  "\xc0\xaf",
  "\xed\xa0\x80",
  "\xf8\x88\x80\x80",
)

/** Text that has broken parsers before: non-Latin-1 ids, separators, reserved values, NUL, surrogates. */
const nastyText = fc.constantFrom(
  "中1",
  "é",
  "\u00ff",
  "日本語/トピック",
  "😀",
  "\u2028",
  "\ufeff",
  "\0",
  "\r\n",
  "a\rb",
  "%",
  "%ff",
  "%C3%A9",
  "earliest",
  "#1",
  "*",
  "",
  " ",
  "{id}",
  "https://example.com/books/{id}",
  "https://example.com/中",
  "/.well-known/mercure/subscriptions/*",
  "\ud800",
  "x".repeat(1100),
)

/** Unicode text: a nasty value, or random text of any plane (lone surrogates included). */
export const unicodeText = fc.oneof(
  { weight: 3, arbitrary: nastyText },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
)

/** Text as bytes: mostly its UTF-8, sometimes Latin-1-cut or with invalid UTF-8 spliced in. */
export const textBytes = fc.oneof(
  { weight: 6, arbitrary: unicodeText.map(utf8) },
  { weight: 1, arbitrary: unicodeText.map(latin1) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(unicodeText.map(utf8), invalidUtf8, fc.nat())
      .map(
        ([text, bad, at]) => text.slice(0, at % (text.length + 1)) + bad + text.slice(at % (text.length + 1)),
      ),
  },
)
