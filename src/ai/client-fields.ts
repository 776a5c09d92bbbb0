/**
 * The field of the client's request body that a part of a normalized request was read from
 * (`messages[2].content[1].image_url.url`; a turn's `messages[3].content`), so that a part the
 * upstream's format cannot take is named as the client wrote it: in its format's field names, at
 * its indices (which normalizing shifts: system messages leave the list, an Anthropic turn's
 * tool results become messages of their own). Kept beside the parts, not in them, so that the
 * normalized request (a stored prompt, a comparison) holds only what the client asked.
 *
 * @packageDocumentation
 */

const fields = new WeakMap<object, string>()

/** `part`, noted as read from the client's field `field`. */
export function readFrom<T extends object>(part: T, field: string): T {
  fields.set(part, field)
  return part
}

/**
 * The client's field `part` was read from; `fallback` for a part not read from a client's body
 * (one a library caller or a translation made).
 */
export function clientField(part: object, fallback: string): string {
  return fields.get(part) ?? fallback
}
