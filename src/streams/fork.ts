/**
 * Forks (protocol section 4.2) on the engine: a fork is a log of its own whose `meta` names its
 * source and fork point; reads stitch the source up to the fork point, then the fork's own log
 * (read-range.ts), and the fork's offsets continue the source's (stream.ts). Nothing is copied.
 *
 * A source must outlive its forks' reads: each fork is recorded by an empty marker log
 * `streams-fork:{<source's log>} <fork's path>`, and deleting a source that has live forks only
 * soft-deletes it. A marker expires with its fork (fork-marker-ttl.ts), so that forks and sources
 * that expire leave none. Markers are checked against the forks they name (a fork deleted or
 * expired may leave a stale marker for a while, removed when found: at the source's delete, and a
 * few at each new fork of it, see fork-marker-sweep.ts), so the count never keeps a source alive
 * for nothing. The braces are a hash tag (engine/redis-keys.ts): on a Redis Cluster a source's
 * markers live in its slot. A fork's own log cannot: it is found by its own path alone.
 */

import type { LogConfig } from "../engine/engine.js"
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
/**
 * A marker's sliding TTL, in fork TTLs: renewed when its fork is touched (at most every half of the
 * fork's TTL), it outlives the fork's next touches by half a TTL or more (fork-marker-ttl.ts).
 */
const MARKER_TTL_FACTOR = 2

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
  // The read slid the source's TTL: if it is a fork, its marker goes on with it.
  await context.forkMarkerTtl.touched(source)
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

/**
 * The config of the marker of a fork whose log has the config `fork`: it expires with the fork, at
 * the fork's `expiresAt`, or by a sliding TTL that the fork's touches renew (fork-marker-ttl.ts).
 */
export function markerConfig(fork: LogConfig): LogConfig | undefined {
  if (fork.expiresAt !== undefined) return { expiresAt: fork.expiresAt }
  if (fork.ttlMs !== undefined) return { ttlMs: fork.ttlMs * MARKER_TTL_FACTOR }
  return undefined
}

/**
 * Records a fork of `source` whose log has the config `config`; `true` when this call created the
 * record (`false` when one is there: this fork's, or one another fork of this path left).
 */
export async function addMarker(
  context: StreamsContext,
  source: string,
  fork: string,
  config: LogConfig,
): Promise<boolean> {
  const result = await context.engine.create(markerOf(source, fork), markerConfig(config))
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

/**
 * Makes sure the fork `fork` of `source`, whose log has the config `config`, has its marker, with
 * its expiry: a marker another fork of this path left, with another expiry, is replaced.
 */
export async function keepMarker(
  context: StreamsContext,
  source: string,
  fork: string,
  config: LogConfig,
): Promise<void> {
  const name = markerOf(source, fork)
  const wanted = markerConfig(config)
  if ((await context.engine.create(name, wanted)).status !== "conflict") return
  await context.engine.delete(name)
  await context.engine.create(name, wanted)
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
  return (await liveForkOf(context, source, name, current)) !== undefined
}

/** The fork the marker `name` of `source` names, if it is there (see {@link namesLiveFork}). */
async function liveForkOf(
  context: StreamsContext,
  source: string,
  name: string,
  current: Stream | undefined,
): Promise<Stream | undefined> {
  const fork = await loadStream(context.engine, name.slice(markersOf(source).length))
  if (fork?.fork?.source !== source) return undefined
  // A fork made before forks recorded their source's epoch counts for whatever is there.
  const live = current === undefined ? fork.fork.sourceEpoch === undefined : isSourceOf(fork.fork, current)
  return live ? fork : undefined
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
  const fork = await liveForkOf(context, source, name, current)
  if (fork === undefined) return false
  await context.engine.create(name, markerConfig(fork.head.config))
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
