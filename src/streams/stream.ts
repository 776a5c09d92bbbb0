/**
 * A Durable Stream on the engine: one log per stream URL path, named `streams:{path}`, its
 * content type (and owner, and fork point) in the log's `meta`. A soft-deleted stream (deleted
 * while forks still read it) is its log closed with the stop flag set: both are durable, atomic
 * and seen by every node through `head`, and the protocol has no other use for the flag.
 */

import type { Engine, LogConfig, LogHead } from "../engine/engine.js"
import { continuesEpoch } from "../engine/former-epochs.js"
import { formatPosition, type Position, parsePosition } from "../engine/position.js"
import { isJsonMode } from "./content.js"
import { formatOffset, parseStreamOffset, type StreamOffset } from "./offsets.js"

/** The prefix of the engine log names of streams. */
export const STREAM_LOG_PREFIX = "streams:"

/** The `meta` keys a stream's log carries. */
export const META = {
  contentType: "contentType",
  owner: "owner",
  forkOf: "forkOf",
  forkAt: "forkAt",
  forkSub: "forkSub",
  /** The epoch of the source's log when the fork was made: which stream at that path it forked. */
  forkSourceEpoch: "forkSrc",
} as const

/** Where a fork diverges from its source. */
export interface ForkPoint {
  /** The source stream's path. */
  readonly source: string
  /** The offset (of the source) after which the fork's own appends go. */
  readonly at: StreamOffset
  /** The epoch of the source's log when the fork was made (forks made before it was kept: none). */
  readonly sourceEpoch: string | undefined
}

/** A stream as one request sees it. */
export interface Stream {
  readonly path: string
  readonly log: string
  readonly head: LogHead
  readonly contentType: string
  readonly json: boolean
  readonly owner: string | undefined
  readonly fork: ForkPoint | undefined
  readonly softDeleted: boolean
  /** Its data is one user's (another app's log, checked by that app): caches keep reads `private`. */
  readonly private?: boolean
  /**
   * Tells the app whose log this is that a live read began; returns the function that says it
   * ended (an AI generation runs on while someone watches it).
   */
  readonly watch?: () => () => void
}

/** The engine log of the stream at `path`. */
export function logOf(path: string): string {
  return STREAM_LOG_PREFIX + path
}

/** The stream at `path`, or `undefined` when there is none (never created, deleted, expired). */
export async function loadStream(engine: Engine, path: string): Promise<Stream | undefined> {
  const log = logOf(path)
  const head = await engine.head(log)
  return head === undefined ? undefined : streamOf(path, log, head)
}

/** What a stream's log config says of it: its content type, owner and fork point. */
export type StreamDescription = Pick<Stream, "contentType" | "json" | "owner" | "fork">

/** Reads a stream's description from its log's config. */
export function describedBy(config: LogConfig): StreamDescription {
  const meta = config.meta ?? {}
  const contentType = meta[META.contentType] ?? "application/octet-stream"
  const forkOf = meta[META.forkOf]
  const forkAtText = meta[META.forkAt]
  const forkAt = forkAtText === undefined ? undefined : parseStreamOffset(forkAtText)
  return {
    contentType,
    json: isJsonMode(contentType),
    owner: meta[META.owner],
    fork:
      forkOf === undefined || forkAt === undefined
        ? undefined
        : { source: forkOf, at: forkAt, sourceEpoch: meta[META.forkSourceEpoch] },
  }
}

/** The stream a log head describes. */
export function streamOf(path: string, log: string, head: LogHead): Stream {
  return { path, log, head, ...describedBy(head.config), softDeleted: head.stopRequested }
}

/**
 * Whether `source` is the stream `fork` was made from, and not another made at its path since
 * (its log deleted or expired, and made again): that one's data is not the fork's to read.
 */
export function isSourceOf(fork: ForkPoint, source: Stream): boolean {
  return (
    source.path === fork.source &&
    (fork.sourceEpoch === undefined || continuesEpoch(source.head, fork.sourceEpoch))
  )
}

/**
 * The offset clients see for a position of the stream's own log: the position itself, or for a
 * fork the fork point's epoch with the seq counted on from the fork point and the epoch of the
 * fork's log after it (offsets.ts), so that a fork's offsets continue its source's, sort after the
 * fork point, and are no other fork's. Before its first append a fork is at its fork point: the
 * end of the range it inherits, the offset its source gave it.
 */
export function exposedOffset(stream: Pick<Stream, "fork">, position: Position): Position {
  const fork = stream.fork
  if (fork === undefined) return position
  const own = parsePosition(position)
  if (own === undefined) return position
  if (own.seq === 0) return formatOffset(fork.at)
  return formatOffset({ epoch: fork.at.epoch, seq: fork.at.seq + own.seq, forkEpoch: own.epoch })
}

/**
 * The position of the stream's own log that an offset of its own range means (the inverse of
 * {@link exposedOffset}; the engine's read then checks its epoch), or `undefined` for an offset
 * of another epoch or of another fork, or of a fork's inherited range.
 */
export function ownPosition(stream: Stream, offset: StreamOffset): Position | undefined {
  const fork = stream.fork
  if (fork === undefined)
    return offset.forkEpoch === undefined ? formatPosition(offset.epoch, offset.seq) : undefined
  if (offset.epoch !== fork.at.epoch || offset.seq < fork.at.seq) return undefined
  if (offset.seq === fork.at.seq) {
    return offset.forkEpoch === fork.at.forkEpoch ? formatPosition(stream.head.epoch, 0) : undefined
  }
  return offset.forkEpoch === undefined
    ? undefined
    : formatPosition(offset.forkEpoch, offset.seq - fork.at.seq)
}

/** The stream's tail as clients see it (`Stream-Next-Offset` of HEAD and appends). */
export function tailOffset(stream: Stream): Position {
  return exposedOffset(stream, stream.head.tail)
}

/** The config of a stream's log. */
export function streamConfig(
  contentType: string,
  expiry: { readonly ttlMs?: number; readonly expiresAt?: number },
  extra: Readonly<Record<string, string>> = {},
): LogConfig {
  return { ...expiry, meta: { [META.contentType]: contentType, ...extra } }
}
