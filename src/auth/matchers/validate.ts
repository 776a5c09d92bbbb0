/**
 * Character rules shared by topics, matchers, ids and types (draft-08 "Terminology"), and the
 * reserved hub namespace rule (draft-08 "Publication").
 */

/** Printable ASCII only: the common case, valid without a closer look. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/

/**
 * The first forbidden code point: a control (`Cc` is exactly C0, U+007F and C1), a format
 * character (`Cf`), or a surrogate (`Cs`: with the `u` flag only a lone one can match, since a
 * well-formed pair is read as one supplementary code point).
 */
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Cs}]/u

/**
 * Why `value` is not a valid topic, matcher, id or type per draft-08 "Terminology" (not valid
 * UTF-8 — a lone surrogate —, a C0/C1 control, U+007F, or a Unicode format character, category
 * Cf), or `undefined` when it is valid.
 *
 * The reason names the code point as `U+XXXX` and its position, counted in code points from 0.
 * Categories are those of the Unicode version of the running Node.js (draft-08: hubs "MAY also
 * reject characters that later Unicode versions assign to general category `Cf`").
 */
export function invalidCharacterReason(value: string): string | undefined {
  if (PRINTABLE_ASCII.test(value)) return undefined
  const found = FORBIDDEN.exec(value)
  if (found === null) return undefined
  const codePoint = found[0].codePointAt(0) as number
  const position = codePointCount(value, found.index)
  return `contains ${formatCodePoint(codePoint)} (${describe(codePoint)}) at position ${position}`
}

/** `U+XXXX`, at least four hex digits. */
export function formatCodePoint(codePoint: number): string {
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`
}

function describe(codePoint: number): string {
  if (codePoint >= 0xd800 && codePoint <= 0xdfff) return "a lone surrogate: not valid UTF-8"
  if (codePoint < 0x20) return "a C0 control character"
  if (codePoint === 0x7f) return "DEL, a control character"
  if (codePoint >= 0x80 && codePoint <= 0x9f) return "a C1 control character"
  return "an invisible Unicode format character, category Cf"
}

/** Code points in `value` before UTF-16 index `end`. */
function codePointCount(value: string, end: number): number {
  let count = 0
  for (let i = 0; i < end; i++) {
    const unit = value.charCodeAt(i)
    // A high surrogate followed by a low one is one code point: skip the low half.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < end) {
      const next = value.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) i++
    }
    count++
  }
  return count
}

/**
 * Whether `topic` addresses the hub's reserved namespace: resolved against `hubUrl` with the
 * WHATWG URL parser, its path — dot-segments removed, percent-encoded unreserved characters
 * decoded — equals the hub URL's path or starts with it followed by `/`. A topic that does not
 * parse as a URL reference does not address it.
 *
 * Draft-08: "A topic addresses the reserved namespace when the resolved path component equals the
 * path of the hub's URL or begins with that path followed by `/` [...] regardless of scheme or
 * authority." The hub URL's own path is normalized the same way, and a trailing `/` on it is
 * ignored (a hub at `/hub/` reserves `/hub` and `/hub/...`).
 */
export function addressesReservedNamespace(topic: string, hubUrl: URL): boolean {
  let resolved: URL
  try {
    resolved = new URL(topic, hubUrl)
  } catch {
    // "A topic that cannot be parsed as a URL reference against the hub's URL does not address the
    // reserved namespace (it cannot name a hub path)".
    return false
  }
  const path = normalizePath(resolved.pathname)
  let hubPath = normalizePath(hubUrl.pathname)
  if (hubPath.endsWith("/")) hubPath = hubPath.slice(0, -1)
  return path === hubPath || path.startsWith(`${hubPath}/`)
}

/**
 * RFC 3986 percent-encoding normalization then dot-segment removal. Decoding comes first so that
 * `%2E%2E` counts as `..`: "the path MUST have its dot-segments removed and its percent-encoded
 * octets that correspond to unreserved characters decoded".
 */
export function normalizePath(path: string): string {
  return removeDotSegments(decodeUnreserved(path))
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/

/** Decodes `%XX` escapes of unreserved characters; other escapes get upper-case hex (RFC 3986 6.2.2.1). */
export function decodeUnreserved(path: string): string {
  if (!path.includes("%")) return path
  return path.replace(/%([0-9A-Fa-f]{2})/g, (encoded, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16))
    return UNRESERVED.test(char) ? char : encoded.toUpperCase()
  })
}

/**
 * RFC 3986 section 5.2.4 "Remove Dot Segments", step for step. The output buffer is a list of
 * segments (each with its leading `/`, except possibly the first), so "removing the last segment
 * and its preceding /" is a pop and the whole pass stays linear.
 */
export function removeDotSegments(path: string): string {
  if (!path.includes(".")) return path
  let input = path
  let i = 0
  const output: string[] = []
  while (i < input.length) {
    // A. "../" or "./" prefix: remove it.
    if (input.startsWith("../", i)) i += 3
    else if (input.startsWith("./", i)) i += 2
    // B. "/./" prefix or "/." as the whole rest: replace with "/".
    else if (input.startsWith("/./", i)) i += 2
    else if (i + 2 === input.length && input.startsWith("/.", i)) {
      input = "/"
      i = 0
    }
    // C. "/../" prefix or "/.." as the whole rest: replace with "/" and drop the last output segment.
    else if (input.startsWith("/../", i)) {
      i += 3
      output.pop()
    } else if (i + 3 === input.length && input.startsWith("/..", i)) {
      input = "/"
      i = 0
      output.pop()
    }
    // D. "." or ".." as the whole rest: remove it.
    else if (
      (i + 1 === input.length && input[i] === ".") ||
      (i + 2 === input.length && input.startsWith("..", i))
    ) {
      i = input.length
    }
    // E. Move the first segment (with its leading "/", if any) to the output.
    else {
      const next = input.indexOf("/", i + 1)
      const end = next === -1 ? input.length : next
      output.push(input.slice(i, end))
      i = end
    }
  }
  return output.join("")
}
