/**
 * Reads a stream's appends after an offset, stitching a fork's inherited range (read from its
 * source, recursively, up to the fork point) to the fork's own log. Engine-agnostic: only
 * `read` and `head`.
 */

import type { Engine } from "../engine/engine.js"
import { formatPosition, parsePosition, START } from "../engine/position.js"
import { StreamsError } from "./errors.js"
import type { StreamsLimits } from "./limits.js"
import { formatOffset, parseStreamOffset, type StreamOffset } from "./offsets.js"
import { exposedOffset, isSourceOf, loadStream, ownPosition, type Stream } from "./stream.js"

/** What a read returned. */
export interface RangeRead {
  /** The appends' data (entries), oldest first. */
  readonly chunks: string[]
  /** Their size in characters (bytes for byte streams). */
  bytes: number
  /** The offset after the last chunk: the next read's `offset` (`Stream-Next-Offset`). */
  next: string
  /** More appends follow (the read stopped at a size bound). */
  more: boolean
  /** The stream is closed and the chunks reach its end. */
  closed: boolean
}

const REASONS = {
  missing: [404, "The stream does not exist."],
  trimmed: [410, "The data after this offset is no longer retained; read from -1 or now."],
  "other-epoch": [410, "This offset belongs to an earlier stream at this URL; read from -1 or now."],
  ahead: [400, "This offset is past the stream's tail."],
  malformed: [400, "This is not an offset of this stream."],
} as const

/**
 * Reads `stream` after `after` (START: its beginning): up to `limits.readPageEntries` appends
 * and about `limits.maxReadBytes` (always at least one append). Throws a {@link StreamsError}
 * when the offset is not held (404, 410, 400).
 */
export async function readRange(
  engine: Engine,
  stream: Stream,
  after: typeof START | StreamOffset,
  limits: StreamsLimits,
): Promise<RangeRead> {
  const out: RangeRead = { chunks: [], bytes: 0, next: "", more: false, closed: false }
  await readInto(engine, stream, after, Number.POSITIVE_INFINITY, limits, out, true)
  return out
}

/** Appends to `out` what `stream` holds after `after`, up to the offset seq `until`. */
async function readInto(
  engine: Engine,
  stream: Stream,
  after: typeof START | StreamOffset,
  until: number,
  limits: StreamsLimits,
  out: RangeRead,
  top: boolean,
): Promise<void> {
  const fork = stream.fork
  if (fork !== undefined && (after === START || (after.epoch === fork.at.epoch && after.seq < fork.at.seq))) {
    const source = await loadStream(engine, fork.source)
    // A stream made at the source's path since is another one: reading it would show its data,
    // and could loop back to this fork.
    if (source === undefined || !isSourceOf(fork, source)) {
      throw new StreamsError(
        410,
        "The data this fork inherits is gone: its source stream was deleted or expired.",
      )
    }
    await readInto(engine, source, after, Math.min(until, fork.at.seq), limits, out, false)
    out.closed = false
    const reached = parseStreamOffset(out.next)
    // The inherited range's offsets are the fork point's epoch's, though the source's log may
    // have gone on under a later one (a replication fork: the engine reads the former as it);
    // its end is the fork point, as the fork has it.
    if (reached !== undefined)
      out.next = formatOffset(reached.seq === fork.at.seq ? fork.at : { ...reached, epoch: fork.at.epoch })
    if (reached === undefined || reached.seq < fork.at.seq || until <= fork.at.seq || out.more) {
      // A read of the fork all the same (section 5.1: it slides the fork's TTL), though it stayed
      // in the range the fork inherits and read none of its own log.
      if (top) await engine.read(stream.log, stream.head.tail, 1)
      return
    }
    await readOwn(engine, stream, formatPosition(stream.head.epoch, 0), until, limits, out, top)
    return
  }
  const own = after === START ? START : ownPosition(stream, after)
  if (own === undefined) throw notHeld("other-epoch", top)
  await readOwn(engine, stream, own, until, limits, out, top)
}

/**
 * Reads the stream's own log after the engine position `after`, in one engine read: up to
 * `limits.readPageEntries` appends in all and about `limits.maxReadBytes`, or to the tail, or to
 * `until`. The engine is given the bytes left, so that it loads no more than the response holds
 * (and at most one append past them).
 */
async function readOwn(
  engine: Engine,
  stream: Stream,
  after: string,
  until: number,
  limits: StreamsLimits,
  out: RangeRead,
  top: boolean,
): Promise<void> {
  const shift = stream.fork?.at.seq ?? 0
  const start = after === START ? undefined : parsePosition(after)
  let limit = limits.readPageEntries - out.chunks.length
  if (start !== undefined && Number.isFinite(until)) limit = Math.min(limit, until - shift - start.seq)
  if (limit <= 0) {
    out.more = true
    return
  }
  // At least a byte: an inherited range that filled the response still learns whether the fork's
  // own log follows it.
  const maxBytes = Math.max(1, limits.maxReadBytes - out.bytes)
  // A fork reading its source does not keep the source alive: only the fork was read.
  const options = top ? { maxBytes } : { maxBytes, touch: false }
  const result = await engine.read(stream.log, after, limit, options)
  if (!result.held) throw notHeld(result.reason, top)
  let taken = 0
  let last = result.after
  let capped = false
  for (const entry of result.entries) {
    if (entry.seq + shift > until) {
      capped = true
      break
    }
    // The engine returns a first entry whatever its size: one that does not fit after an
    // inherited range waits for the next read.
    if (out.chunks.length > 0 && out.bytes + entry.data.length > limits.maxReadBytes) break
    out.chunks.push(entry.data)
    out.bytes += entry.data.length
    last = entry.position
    taken++
  }
  out.next = exposedOffset(stream, last)
  const reachedUntil = capped || (parsePosition(last)?.seq ?? 0) + shift >= until
  out.more = !reachedUntil && (taken < result.entries.length || result.more)
  out.closed = result.closed && !out.more
}

function notHeld(reason: keyof typeof REASONS, top: boolean): StreamsError {
  if (!top && reason === "missing")
    return new StreamsError(410, "The source this fork inherits from is gone.")
  const [status, detail] = REASONS[reason]
  return new StreamsError(status, detail)
}
