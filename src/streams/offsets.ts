/**
 * Offsets: a stream's offsets ARE its engine positions (`{epoch}_{seq}`, sortable as strings).
 * A fork's own appends count on from its fork point, in the fork point's epoch, and name the
 * epoch of the fork's own log after: `{epoch}_{seq}_{forkEpoch}` (stream.ts). Their seq sorts them
 * after the offsets the fork inherits, and their last part makes those of a fork deleted and made
 * again at its URL, from the same fork point, another's: 410, never the new fork's data. This file
 * reads and writes them, and turns what a client sends into one.
 */

import { formatPosition, type ParsedPosition, parsePosition, START } from "../engine/position.js"
import { StreamsError } from "./errors.js"

/** The protocol's `now`: the tail at the time of the request. */
export const NOW = "now"

/** An offset, parsed. */
export interface StreamOffset extends ParsedPosition {
  /** For an append of a fork's own log: that log's epoch (absent for every other offset). */
  readonly forkEpoch?: string | undefined
}

/** Where a read starts: the beginning of the stream, its tail now, or after an offset. */
export type ReadStart = typeof START | typeof NOW | StreamOffset

/** A position (`{epoch}_{seq}`), then the epoch of a fork's own log. */
const FORK_OWN = /^([0-9a-z]{8}_\d{16})_([0-9a-z]{8})$/

/** The offset text of `offset`. */
export function formatOffset(offset: StreamOffset): string {
  const position = formatPosition(offset.epoch, offset.seq)
  return offset.forkEpoch === undefined ? position : `${position}_${offset.forkEpoch}`
}

/** The parts of an offset text, or `undefined` when it is none. */
export function parseStreamOffset(text: string): StreamOffset | undefined {
  const own = FORK_OWN.exec(text)
  if (own === null) return parsePosition(text)
  const position = parsePosition(own[1] as string)
  return position === undefined ? undefined : { ...position, forkEpoch: own[2] as string }
}

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
  const position = parseStreamOffset(value)
  if (position === undefined) {
    throw new StreamsError(
      400,
      `\`${what}\` is not an offset of this server: send -1, now, or a Stream-Next-Offset this server returned.`,
    )
  }
  return position
}
