import type { EventFields } from "./types.js"

const LINE_BREAK = /\r\n|\r|\n/

/**
 * Serializes one event as `text/event-stream` text, ending with the blank line that dispatches it.
 *
 * Never lets a value inject a field: `data` and `comment` with CR, LF or CRLF become several
 * lines; an `event` or `id` containing CR, LF or NUL throws a `TypeError`; `retry` must be a
 * non-negative integer or a `RangeError` is thrown. `data: ` is always written with its space, so
 * data that starts with a space survives the parser's one-space strip.
 *
 * @example
 * ```ts
 * encode({ event: "token", id: "42", data: "Hello\nworld" })
 * // "event: token\nid: 42\ndata: Hello\ndata: world\n\n"
 * ```
 */
export function encode(fields: EventFields): string {
  const { data, event, id, retry, comment } = fields
  let frame = ""
  if (comment !== undefined) frame += prefixLines(": ", comment)
  if (event !== undefined) {
    assertSingleLine("event", event)
    frame += `event: ${event}\n`
  }
  if (id !== undefined) {
    assertSingleLine("id", id)
    frame += `id: ${id}\n`
  }
  if (retry !== undefined) {
    if (!Number.isSafeInteger(retry) || retry < 0) {
      throw new RangeError(`SSE retry must be a non-negative integer of milliseconds; got ${String(retry)}.`)
    }
    frame += `retry: ${retry}\n`
  }
  if (data !== undefined) frame += prefixLines("data: ", data)
  if (frame === "") {
    throw new TypeError("encode() needs at least one of data, event, id, retry or comment.")
  }
  return `${frame}\n`
}

function prefixLines(prefix: string, value: string): string {
  // Fast path: almost every token-sized payload is a single line.
  if (value.indexOf("\n") === -1 && value.indexOf("\r") === -1) return `${prefix}${value}\n`
  let out = ""
  for (const line of value.split(LINE_BREAK)) out += `${prefix}${line}\n`
  return out
}

function assertSingleLine(field: "event" | "id", value: string): void {
  if (/[\r\n\0]/.test(value)) {
    throw new TypeError(
      `SSE ${field} must not contain CR, LF or NUL: they would inject fields into the stream. ` +
        `Got ${JSON.stringify(value)}; strip or encode those characters first.`,
    )
  }
}
