/**
 * Content types and how a stream's bytes become engine entries (and back). Entries are strings:
 * a byte stream stores each append as a "binary string" (latin1: one char per byte, lossless,
 * so a multi-byte character split across appends survives); a JSON stream stores each append's
 * messages as JSON text joined by commas, so a read is `[` + entries joined by `,` + `]`.
 */

import { bodyPassesBound, walkJsonText } from "../auth/json-depth.js"
import type { NewEntry } from "../engine/engine.js"
import { StreamsError } from "./errors.js"
import type { StreamsLimits } from "./limits.js"

const DEFAULT_CONTENT_TYPE = "application/octet-stream"

/** UTF-8 that refuses what is not: a replaced character would change a message unnoticed. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** A `Content-Type` as stored and compared: trimmed and lowercased (media types are case-insensitive). */
export function normalizeContentType(header: string | undefined): string | undefined {
  const value = header?.trim().toLowerCase()
  return value === undefined || value === "" ? undefined : value
}

/** The content type of a stream created without one. */
export function defaultContentType(): string {
  return DEFAULT_CONTENT_TYPE
}

/** The media type without its parameters (`application/json; charset=utf-8` → `application/json`). */
export function mediaType(contentType: string): string {
  const semicolon = contentType.indexOf(";")
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim()
}

/** JSON mode (protocol section 9.1): messages are JSON values, reads answer an array. */
export function isJsonMode(contentType: string): boolean {
  return mediaType(contentType) === "application/json"
}

/** Whether SSE carries the data as text; any other stream is base64 in SSE (section 5.8). */
export function isTextual(contentType: string): boolean {
  return contentType.startsWith("text/") || isJsonMode(contentType)
}

/**
 * The entries a request body appends: none for an empty body. JSON mode validates the body (UTF-8,
 * as RFC 8259 requires, nesting at most `maxBodyDepth` deep with at most `maxBodyKeys` keys in any
 * object and `maxBodyValues` values in all, then JSON) and flattens one level of array (an empty
 * array is refused on POST, `allowEmptyArray` on PUT). Any other stream keeps the bytes as sent, `text/*` included: a text
 * stream is bytes too (its charset is the writer's, and a character may be split across appends).
 */
export function bodyToEntries(
  json: boolean,
  body: Buffer,
  allowEmptyArray: boolean,
  limits: Pick<StreamsLimits, "maxBodyDepth" | "maxBodyKeys" | "maxBodyValues">,
): NewEntry[] {
  if (body.length === 0) return []
  if (!json) return [{ data: body.toString("latin1") }]
  let text: string
  try {
    text = strictUtf8.decode(body)
  } catch {
    throw new StreamsError(
      400,
      "The body is not valid UTF-8: JSON must be UTF-8 (RFC 8259), and a replaced character would change the data unnoticed.",
    )
  }
  const passed = bodyPassesBound(text, limits)
  if (passed !== undefined) {
    const refusals = {
      depth: `The body nests arrays and objects more than ${limits.maxBodyDepth} levels deep (the streams' maxBodyDepth; herald serve's --streams-max-body-depth); send messages that nest less.`,
      keys: `An object in the body has more than ${limits.maxBodyKeys} keys (the streams' maxBodyKeys; herald serve's --streams-max-body-keys); send messages whose objects have fewer keys.`,
      values: `The body holds more than ${limits.maxBodyValues} values, array items and object members at any depth (the streams' maxBodyValues; herald serve's --streams-max-body-values); send fewer messages per append, or smaller ones.`,
    }
    throw new StreamsError(400, refusals[passed])
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new StreamsError(400, `The body is not valid JSON: ${(error as Error).message}.`)
  }
  // The messages are stored as sent, not parsed and written again: a number past 2^53 or 1e400
  // would not survive that. A line break in valid JSON is whitespace (a string cannot hold one
  // raw), so it becomes a space: stored text never holds one, and an SSE data line carries it.
  const stored = text.trim().replace(/[\r\n]+/g, " ")
  if (!Array.isArray(value)) return [{ data: stored }]
  if (value.length === 0) {
    if (allowEmptyArray) return []
    throw new StreamsError(400, "An empty JSON array appends nothing: send at least one message.")
  }
  // An array's messages, flattened one level: the text between its brackets.
  return [{ data: stored.slice(1, -1).trim() }]
}

/** The body of a read: a JSON array of the messages, or the bytes. */
export function renderBody(json: boolean, chunks: readonly string[]): Buffer {
  if (json) return Buffer.from(`[${chunks.join(",")}]`)
  return Buffer.from(chunks.join(""), "latin1")
}

/**
 * The first `count` units of an append, for a fork at a sub-offset: bytes of a byte stream,
 * messages of a JSON one. `undefined` when the append has fewer.
 */
export function prefixOf(json: boolean, data: string, count: number): string | undefined {
  if (!json) return count <= data.length ? data.slice(0, count) : undefined
  // Cut at a comma between messages, found without parsing: an append stored before the depth
  // bound may nest deeper than JSON.stringify can recurse.
  let messages = 1
  let cut: number | undefined
  walkJsonText(data, (index, depth) => {
    if (depth !== 0 || data[index] !== ",") return false
    if (messages === count) cut = index
    else messages++
    return cut !== undefined
  })
  if (cut !== undefined) return data.slice(0, cut)
  return count <= messages ? data : undefined
}
