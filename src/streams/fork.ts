/**
 * Forks (protocol section 4.2) on the engine: a fork is a log of its own whose `meta` names its
 * source and fork point; reads stitch the source up to the fork point, then the fork's own log
 * (read-range.ts), and the fork's offsets continue the source's (stream.ts). Nothing is copied.
 *
 * A source must outlive its forks' reads: each fork is recorded by an empty marker log
 * `streams-fork:{<source's log>} <fork's path>`, and deleting a source that has live forks only
 * soft-deletes it. Markers are checked against the forks they name (a fork that expired leaves a
 * stale marker, removed when found: at the source's delete, and a few at each new fork of it, see
 * fork-marker-sweep.ts), so the count never keeps a source alive for nothing. The
 * braces are a hash tag (engine/redis-keys.ts): on a Redis Cluster a source's markers live in
 * its slot. A fork's own log cannot: it is found by its own path alone.
 */

import { continuesEpoch, inCurrentEpoch } from "../engine/former-epochs.js"
import { type ParsedPosition, START } from "../engine/position.js"
import { prefixOf } from "./content.js"
import type { StreamsContext } from "./context.js"
import { StreamsError } from "./errors.js"
import { formatOffset, parseOffset, type StreamOffset } from "./offsets.js"
import { readRange } from "./read-range.js"
import { isSourceOf, loadStream, logOf, type Stream, tailOffset } from "./stream.js"

const MARKER_PREFIX = "streams-fork:"
/** A space cannot appear in a URL path, so it separates the source's path from the fork's. */
const SEPARATOR = " "
const PAGE = 100

/** Where a new fork starts: its fork point, and the part of the next append it inherits (a sub-offset). */
export interface ResolvedForkPoint {
  readonly at: StreamOffset
  readonly prefix: string | undefined
}

/** The offset before a stream's first append (its chain's epoch, seq 0). */
export function startOf(stream: Stream): ParsedPosition {
  return stream.fork === undefined
    ? { epoch: stream.head.epoch, seq: 0 }
    : { epoch: stream.fork.at.epoch, seq: 0 }
}

/**
 * Resolves `Stream-Fork-Offset` (default: the source's tail) and `Stream-Fork-Sub-Offset`
 * against the source. Throws a 400 for an offset past the tail or of another stream, a
 * malformed sub-offset, or one past the next append's end.
 */
export async function resolveForkPoint(
  context: StreamsContext,
  source: Stream,
  offsetHeader: string | undefined,
  sub: number,
): Promise<ResolvedForkPoint> {
  const tail = parseOffset(tailOffset(source), "tail") as StreamOffset
  const start = startOf(source)
  let at: StreamOffset = tail
  if (offsetHeader !== undefined) {
    const given = parseOffset(offsetHeader, "Stream-Fork-Offset", false)
    at = given === START ? start : (given as StreamOffset)
    // An offset from before a replication fork of the source's log, in the epoch it has now.
    if (source.fork === undefined && at.forkEpoch === undefined) at = inCurrentEpoch(source.head, at) ?? at
    if (at.epoch !== start.epoch || at.seq > tail.seq) throw notAForkOffset()
    at = await offsetOfSource(context, source, at)
  }
  if (sub === 0) return { at, prefix: undefined }
  const next = await readRange(context.engine, source, at, { ...context.limits, readPageEntries: 1 })
  const data = next.chunks[0]
  const prefix = data === undefined ? undefined : prefixOf(source.json, data, sub)
  if (prefix === undefined) {
    throw new StreamsError(400, "`Stream-Fork-Sub-Offset` names a position past the end of the next append.")
  }
  return { at, prefix }
}

/**
 * `at` as the offset `source` gives there, or a 400 when it gives none: an append of a fork's own
 * log names that log's epoch (made the current one when it is a former one the log continues), and
 * a fork point is the offset its source gave it. An offset the fork inherits is its source's: checked
 * there, up the chain, as far as that source is still there (past it, reads answer 410 anyway).
 */
async function offsetOfSource(
  context: StreamsContext,
  source: Stream,
  at: StreamOffset,
): Promise<StreamOffset> {
  let stream = source
  // Bounded by the chain of forks: each turn goes one source up, to one made before it (isSourceOf).
  for (;;) {
    const fork = stream.fork
    if (fork === undefined) {
      if (at.forkEpoch !== undefined) throw notAForkOffset()
      return at
    }
    if (at.seq === fork.at.seq) {
      if (at.forkEpoch !== fork.at.forkEpoch) throw notAForkOffset()
      return at
    }
    if (at.seq > fork.at.seq) {
      const own =
        at.forkEpoch === undefined
          ? undefined
          : inCurrentEpoch(stream.head, { epoch: at.forkEpoch, seq: at.seq - fork.at.seq })
      if (own === undefined) throw notAForkOffset()
      return { ...at, forkEpoch: own.epoch }
    }
    const above = await loadStream(context.engine, fork.source)
    if (above === undefined || !isSourceOf(fork, above)) return at
    stream = above
  }
}

function notAForkOffset(): StreamsError {
  return new StreamsError(400, "`Stream-Fork-Offset` is not an offset of the source stream up to its tail.")
}

/** The marker log recording that `fork` reads from `source`. */
export function markerOf(source: string, fork: string): string {
  return `${markersOf(source)}${fork}`
}

/** What the names of `source`'s markers start with; the source's log is their hash tag. */
export function markersOf(source: string): string {
  return `${MARKER_PREFIX}{${logOf(source)}}${SEPARATOR}`
}

/** Records a fork of `source`; `true` when this call created the record. */
export async function addMarker(context: StreamsContext, source: string, fork: string): Promise<boolean> {
  const result = await context.engine.create(markerOf(source, fork))
  if (result.status !== "created") return false
  try {
    await context.forkMarkers.sweep(context, source, result.head.createdAt)
  } catch (error) {
    // Housekeeping: the next fork's sweep, or the source's delete, finds what this one left.
    context.logger.warn(
      { err: error, source },
      "a sweep of stale fork markers failed; the fork is made all the same",
    )
  }
  return true
}

/** Whether a live fork still reads from `source` (stale markers found on the way are removed). */
export async function hasLiveForks(context: StreamsContext, source: string): Promise<boolean> {
  const prefix = markersOf(source)
  const current = await loadStream(context.engine, source)
  let after: string | undefined
  for (;;) {
    const page = await context.engine.list({ prefix, limit: PAGE, ...(after === undefined ? {} : { after }) })
    for (const marker of page.logs) {
      if (await namesLiveFork(context, source, marker.name, current)) return true
      if (await dropStaleMarker(context, source, marker.name, current)) return true
    }
    if (page.next === undefined) return false
    after = page.next
  }
}

/**
 * Whether the marker `name` of `source` names a fork that is there, of `current`: the stream at
 * `source` now, read once by the caller for all the markers it looks at.
 */
export async function namesLiveFork(
  context: StreamsContext,
  source: string,
  name: string,
  current: Stream | undefined,
): Promise<boolean> {
  const fork = await loadStream(context.engine, name.slice(markersOf(source).length))
  if (fork?.fork?.source !== source) return false
  // A fork made before forks recorded their source's epoch counts for whatever is there.
  return current === undefined ? fork.fork.sourceEpoch === undefined : isSourceOf(fork.fork, current)
}

/**
 * Whether the fork `forkPath` just made still has its source `source` (as `sourceEpoch`) and its
 * marker: a delete of the source that ran meanwhile took it for a stale fork, or went first.
 */
export async function forkStillHeld(
  context: StreamsContext,
  source: string,
  sourceEpoch: string,
  forkPath: string,
): Promise<boolean> {
  const [current, marker] = await Promise.all([
    loadStream(context.engine, source),
    context.engine.head(markerOf(source, forkPath)),
  ])
  return current !== undefined && marker !== undefined && continuesEpoch(current.head, sourceEpoch)
}

/**
 * Deletes `source`'s marker `name`, found naming no fork. A fork made again at its path in the
 * meantime (which found the marker there, and made none) gets it back: `true` then.
 */
export async function dropStaleMarker(
  context: StreamsContext,
  source: string,
  name: string,
  current: Stream | undefined,
): Promise<boolean> {
  await context.engine.delete(name)
  if (!(await namesLiveFork(context, source, name, current))) return false
  await context.engine.create(name)
  return true
}

/**
 * Deletes the stream `path` for good (its log, and its own marker as a fork), then collects its
 * source if the source was soft-deleted and this was its last fork, and so on up the chain.
 */
export async function deleteForGood(context: StreamsContext, stream: Stream): Promise<void> {
  let current: Stream | undefined = stream
  // Bounded by the chain's length: each step goes one source up.
  while (current !== undefined) {
    if (await context.engine.delete(current.log)) context.streamCount.deleted()
    const fork = current.fork
    if (fork === undefined) return
    await context.engine.delete(markerOf(fork.source, current.path))
    const source = await loadStream(context.engine, fork.source)
    // Another stream made at the source's path since is not this fork's to collect.
    if (source === undefined || !isSourceOf(fork, source) || !source.softDeleted) return
    if (await hasLiveForks(context, source.path)) return
    current = source
  }
}

/** The fork point as stored in the fork's `meta`. */
export function formatForkPoint(at: StreamOffset): string {
  return formatOffset(at)
}
