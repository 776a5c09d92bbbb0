import { clip, describe } from "../auth/detail-members.js"
import { joinTexts, type NormalizedRequest, nonEmptyTexts, type ToolResultMessage } from "./request.js"
import { RequestFieldError } from "./request-field-error.js"

/**
 * Readers for a client's JSON request body: each returns the field's value with its type, or
 * throws a {@link RequestFieldError} naming the field by its path.
 *
 * @packageDocumentation
 */

/** A JSON object, as the body or a part of it. */
export type JsonObject = Record<string, unknown>

export function object(value: unknown, path: string): JsonObject {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as JsonObject
  throw new RequestFieldError(path, "must be an object")
}

/** An object that may be left out (absent or null: an empty one). */
export function optionalObject(value: unknown, path: string): JsonObject {
  return value === undefined || value === null ? {} : object(value, path)
}

export function array(value: unknown, path: string): unknown[] {
  if (Array.isArray(value)) return value
  throw new RequestFieldError(path, "must be an array")
}

export function string(value: unknown, path: string): string {
  if (typeof value === "string") return value
  throw new RequestFieldError(path, "must be a string")
}

export function optionalString(value: unknown, path: string): string | undefined {
  return value === undefined || value === null ? undefined : string(value, path)
}

/** A count such as the most output tokens: a whole number of at least 1 (an upstream would refuse less, after a round trip). */
export function optionalPositiveInteger(value: unknown, path: string): number | undefined {
  const number = optionalNumber(value, path)
  if (number !== undefined && !(Number.isSafeInteger(number) && number >= 1))
    throw new RequestFieldError(path, "must be a whole number of at least 1")
  return number
}

export function optionalBoolean(value: unknown, path: string): boolean | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === "boolean") return value
  throw new RequestFieldError(path, "must be true or false")
}

export function optionalNumber(value: unknown, path: string): number | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === "number" && Number.isFinite(value)) return value
  throw new RequestFieldError(path, "must be a number")
}

/**
 * Throws for the first field of `body` that is not in `supported`: a field this translation does
 * not know would otherwise be dropped without a word.
 */
export function onlySupportedFields(body: JsonObject, supported: ReadonlySet<string>, prefix = ""): void {
  for (const field of Object.keys(body)) if (!supported.has(field)) throw unsupported(`${prefix}${field}`)
}

/**
 * The fields of `body` that are set, for a format that reads a null field as one not set: null
 * ones are left out, and any other not in `supported` is refused as {@link onlySupportedFields}
 * does. Only what is set is copied, at most one field per name in `supported`, so a null costs a
 * look, however many the body holds.
 */
export function setSupportedFields(
  body: JsonObject,
  supported: ReadonlySet<string>,
  prefix = "",
): JsonObject {
  const set: JsonObject = {}
  for (const field of Object.keys(body)) {
    const value = body[field]
    if (value === null) continue
    if (!supported.has(field)) throw unsupported(`${prefix}${field}`)
    set[field] = value
  }
  return set
}

const unsupported = (path: string): RequestFieldError =>
  new RequestFieldError(path, "is not supported by Herald's request translation")

/**
 * A content that must be text, as its texts: a string, or the texts of `{"type": "text", "text"}`
 * parts (OpenAI's content parts and Anthropic's text blocks have the same shape).
 */
export function contentTexts(value: unknown, path: string): string[] {
  if (typeof value === "string") return [value]
  if (!Array.isArray(value)) throw new RequestFieldError(path, "must be a string or an array of text parts")
  return value.map((each, at) => {
    const part = object(each, `${path}[${at}]`)
    if (part.type !== "text")
      throw new RequestFieldError(`${path}[${at}].type`, "only text is supported here")
    return string(part.text, `${path}[${at}].text`)
  })
}

/** `texts` that say something, joined, and kept apart too when there are several (see {@link nonEmptyTexts}). */
function textsApart(texts: string[]): { joined: string; apart?: string[] } {
  const kept = nonEmptyTexts(texts)
  return { joined: joinTexts(kept), ...(kept.length > 1 && { apart: kept }) }
}

/** The system prompt of `texts` (none when there are none). */
export function systemPrompt(texts: string[]): Pick<NormalizedRequest, "system" | "systemBlocks"> {
  if (texts.length === 0) return {}
  const { joined, apart } = textsApart(texts)
  return { system: joined, ...(apart !== undefined && { systemBlocks: apart }) }
}

/** A tool result's content of `texts`. */
export function toolResultContent(texts: string[]): Pick<ToolResultMessage, "content" | "contentBlocks"> {
  const { joined, apart } = textsApart(texts)
  return { content: joined, ...(apart !== undefined && { contentBlocks: apart }) }
}

/**
 * A client's `type` as an error names it: a string as it is (clipped), anything else by its kind
 * (describe). Never `String(value)`: an object with its own `toString` field throws.
 */
export function typeName(value: unknown): string {
  return typeof value === "string" ? clip(value) : describe(value)
}
