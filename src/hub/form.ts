const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** A name/value pair list parsed from `application/x-www-form-urlencoded`, in order. */
export type FormFields = ReadonlyArray<readonly [name: string, value: string]>

/**
 * Parses an `application/x-www-form-urlencoded` body as the URL Standard does (`+` is a space,
 * `%XX` a byte, a name without `=` has an empty value), except that bytes which are not valid
 * UTF-8 are an error instead of silently becoming U+FFFD: draft-08 requires "Field names and
 * values MUST be UTF-8", and a replaced character would corrupt a topic or an id unnoticed.
 *
 * @returns the fields, or a message naming the first field that is not valid UTF-8.
 */
export function parseForm(body: Uint8Array): FormFields | string {
  const fields: Array<readonly [string, string]> = []
  let start = 0
  const end = body.length
  while (start <= end) {
    let stop = body.indexOf(0x26 /* & */, start)
    if (stop === -1) stop = end
    if (stop > start) {
      let equals = body.indexOf(0x3d /* = */, start)
      if (equals === -1 || equals > stop) equals = stop
      const name = decodeComponent(body, start, equals)
      if (name === undefined) return `A field name is not valid UTF-8 (bytes ${start}–${equals}).`
      const value = equals < stop ? decodeComponent(body, equals + 1, stop) : ""
      if (value === undefined) return `The value of "${name}" is not valid UTF-8.`
      fields.push([name, value])
    }
    start = stop + 1
  }
  return fields
}

function decodeComponent(body: Uint8Array, from: number, to: number): string | undefined {
  const bytes = new Uint8Array(to - from)
  let length = 0
  for (let i = from; i < to; i++) {
    const byte = body[i] as number
    if (byte === 0x2b /* + */) {
      bytes[length++] = 0x20
    } else if (byte === 0x25 /* % */ && i + 2 < to && isHex(body[i + 1]) && isHex(body[i + 2])) {
      bytes[length++] = (hexValue(body[i + 1] as number) << 4) | hexValue(body[i + 2] as number)
      i += 2
    } else {
      bytes[length++] = byte
    }
  }
  try {
    return strictUtf8.decode(bytes.subarray(0, length))
  } catch {
    return undefined
  }
}

const isHex = (byte: number | undefined): boolean =>
  byte !== undefined &&
  ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66))

const hexValue = (byte: number): number => (byte <= 0x39 ? byte - 0x30 : (byte | 0x20) - 0x57)
