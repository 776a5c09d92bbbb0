/**
 * Offsets: a stream's offsets ARE its engine positions (`{epoch}_{seq}`, sortable as strings),
 * shifted for a fork's own appends (fork.ts). This file turns what a client sends into one.
 */

import { type ParsedPosition, parsePosition, START } from "../engine/position.js"
import { StreamsError } from "./errors.js"

/** The protocol's `now`: the tail at the time of the request. */
export const NOW = "now"

/** Where a read starts: the beginning of the stream, its tail now, or after an offset. */
export type ReadStart = typeof START | typeof NOW | ParsedPosition

/**
 * The offset of the beginning of any stream on the reference server (`@durable-streams/server`):
 * clients and the conformance suite send it as a literal, so it is read as `-1`. No Herald
 * position has this shape (an epoch is 8 characters), so it cannot mean anything else.
 */
const REFERENCE_ZERO = "0000000000000000_0000000000000000"

/**
 * Reads an offset a client sent (`-1`, `now`, a position): `undefined` when absent. Throws a 400
 * for an empty value, a repeated parameter or anything that is not an offset of this server.
 */
export function parseOffsetParameter(values: readonly string[], allowNow = true): ReadStart | undefined {
  if (values.length === 0) return undefined
  if (values.length > 1) throw new StreamsError(400, "Send one `offset` parameter.")
  return parseOffset(values[0] as string, "offset", allowNow)
}

/** Reads one offset value; `what` names it in the error. */
export function parseOffset(value: string, what: string, allowNow = true): ReadStart {
  if (value === "-1" || value === REFERENCE_ZERO) return START
  if (value === NOW && allowNow) return NOW
  const position = parsePosition(value)
  if (position === undefined) {
    throw new StreamsError(
      400,
      `\`${what}\` is not an offset of this server: send -1, now, or a Stream-Next-Offset this server returned.`,
    )
  }
  return position
}
