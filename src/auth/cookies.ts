/**
 * Reads the value of the first cookie called `name` in a `Cookie` request header (RFC 6265
 * section 5.4: `name=value` pairs separated by `;`). Lenient like browsers' own parsers: spaces
 * around pairs are ignored, a pair without `=` is skipped, and a value wrapped in double quotes
 * (the `cookie-value` grammar allows it) is unwrapped. Values are not percent-decoded: an access
 * token is base64url and never needs it. Returns `undefined` when the cookie is absent.
 *
 * The first occurrence wins: user agents list cookies with longer paths first (RFC 6265 section
 * 5.4 step 2), so that one is the most specific.
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  let start = 0
  while (start <= header.length) {
    let end = header.indexOf(";", start)
    if (end === -1) end = header.length
    const pair = header.slice(start, end)
    const eq = pair.indexOf("=")
    if (eq !== -1 && pair.slice(0, eq).trim() === name) {
      let value = pair.slice(eq + 1).trim()
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
      return value
    }
    start = end + 1
  }
  return undefined
}
