/**
 * The engine contract (DESIGN.md "The engine: logs"): everything Herald stores is a log — a
 * named, append-only, totally ordered sequence of entries that any node can read from any
 * position, follow live, close for good, and expire. The Mercure hub is one log, an AI
 * generation is one log, a Durable Stream is one log.
 *
 * The engine does not interpret entries: an entry is an opaque string (`data`) plus an optional
 * lookup `key`. What an entry means (a Mercure update, a token delta, a chunk of a stream) and
 * how it is framed on the wire are the app's business.
 *
 * Every engine keeps these invariants (one shared suite checks them, test/engine/suite.ts):
 * 1. Positions (position.ts) strictly increase in append order, are never reused, and mean the
 *    same entry on every node. A log's seqs are contiguous: 1, 2, 3, … within an epoch.
 * 2. A read answers "held" only when it returns the entries right after the position it was
 *    given; otherwise "not held", with the reason. Never a silent gap.
 * 3. An append is atomic per batch, with its checks (producer fence, close, owner, writer seq)
 *    in the same atomic step; durable on resolve for durable engines; it never waits for a
 *    reader.
 * 4. Looking a position or a key up costs O(log n) or better, whatever the history.
 * 5. The live feed (`watch`) may be late, bursty, repeated or holed — `follow` (follow.ts),
 *    written once above the engines, turns it plus `read` into replay-then-live with no gap and
 *    no duplicate.
 */

import type { Position } from "./position.js"
import type { ProducerFence } from "./producer.js"

/** An entry as an app gives it to {@link Engine.append}. */
export interface NewEntry {
  /** The payload, stored and returned as is. */
  readonly data: string
  /**
   * An app-chosen lookup key (the hub's Mercure id), found again with {@link Engine.locate}.
   * Keys may repeat; a key resolves to the oldest entry held that carries it.
   */
  readonly key?: string
}

/** An entry the engine holds. */
export interface Entry {
  /** Its place in the log; the cursor to read after it. */
  readonly position: Position
  /** Its sequence number in the log's epoch (the seq of `position`). */
  readonly seq: number
  readonly data: string
  readonly key: string | undefined
  /** When the engine accepted it, in ms since the Unix epoch. */
  readonly time: number
}

/** How long a log keeps its entries. The oldest go first when a bound is passed. */
export interface Retention {
  /** Most entries kept. */
  readonly maxEntries?: number
  /** Oldest entry kept, in ms of age. */
  readonly maxAgeMs?: number
}

/** A log's configuration, given at creation. Creating again with an equal config is a no-op. */
export interface LogConfig {
  /** Entry retention. Default: the engine's. */
  readonly retention?: Retention
  /**
   * The log disappears this long after it was last written or read (a sliding TTL, Durable
   * Streams' `Stream-TTL`). Mutually exclusive with `expiresAt`.
   */
  readonly ttlMs?: number
  /** The log disappears at this time, in ms since the Unix epoch. */
  readonly expiresAt?: number
  /**
   * The node that owns the work writing this log (an AI generation): appends that name another
   * owner are refused, and once that node's lease has expired another node may take the log
   * over (see {@link AppendOptions.fence}).
   */
  readonly owner?: string
  /** App metadata (a content type, a model name), stored and returned as is. */
  readonly meta?: Readonly<Record<string, string>>
}

/** What {@link Engine.head} says of a log. */
export interface LogHead {
  readonly name: string
  /** The incarnation: a log deleted and created again, or lost with its store, has a new one. */
  readonly epoch: string
  /** The position of the newest entry, or the epoch's seq-0 position when none was appended. */
  readonly tail: Position
  /** The position before the oldest entry held: reading after it is held. */
  readonly floor: Position
  /** Closed for good: appends are refused, followers end after the last entry. */
  readonly closed: boolean
  /** Someone asked the log's writer to stop ({@link Engine.requestStop}). */
  readonly stopRequested: boolean
  readonly createdAt: number
  /** When the log will disappear unless touched (ms since the Unix epoch), if it expires. */
  readonly expiresAt: number | undefined
  readonly config: LogConfig
  /**
   * Earlier epochs this one continues, oldest first (the redis engine's, after a failover that
   * may have lost acknowledged appends; see docs/engines.md): a position of one of them up
   * to `sharedUntil` names the same entry in this epoch, and reads as such.
   */
  readonly formerEpochs?: readonly FormerEpoch[]
}

/** An earlier epoch of a log, and the last seq it has in common with the current one. */
export interface FormerEpoch {
  readonly epoch: string
  readonly sharedUntil: number
}

/** Options of one {@link Engine.append}, all checked in the same atomic step as the write. */
export interface AppendOptions {
  /** Creates the log with this config first if it does not exist (in the same step). */
  readonly create?: LogConfig
  /** Closes the log after these entries (which may be none). A repeated close succeeds. */
  readonly close?: boolean
  /** An idempotent producer's fence (producer.ts). */
  readonly producer?: ProducerFence
  /**
   * A writer's own sequence (Durable Streams' `Stream-Seq`): refused unless it sorts after the
   * last one given for this log.
   */
  readonly writerSeq?: string
  /**
   * `{ owner }`: refused unless the log's owner is `owner`. `{ takeOver, from }`: refused unless
   * the log's owner is `from` and `from` holds no lease (see {@link Engine.liveNodes}); the
   * log's owner becomes `takeOver`, so the old owner's next append is refused even if it comes
   * back and renews its lease.
   */
  readonly fence?: { readonly owner: string } | { readonly takeOver: string; readonly from: string }
  /**
   * Appends only to the incarnation of the log in this epoch (or one that continues it after a
   * replication fork: {@link LogHead.formerEpochs}); a log deleted and made again since `epoch`
   * was read answers `missing`, so that what was checked against the old one (its owner, its
   * content type) never lands in the new one. Not with `create`.
   */
  readonly epoch?: string
}

/** Options of one {@link Engine.requestStop}. */
export interface StopOptions {
  /**
   * Marks only the incarnation of the log in this epoch (or one that continues it after a
   * replication fork: {@link LogHead.formerEpochs}), as {@link AppendOptions.epoch} appends only
   * to it: a log deleted and made again since `epoch` was read is not marked, and the request
   * answers `false` as for a missing log.
   */
  readonly epoch?: string
}

/** What an append did. Refusals are results, not exceptions: each is a normal outcome. */
export type AppendResult =
  | {
      readonly status: "appended"
      /** The entries as stored, in order (the same objects this node's live feed delivers). */
      readonly entries: readonly Entry[]
      readonly tail: Position
      readonly closed: boolean
      /** Someone asked the writer to stop: a durable flag, seen even if a signal was lost. */
      readonly stopRequested: boolean
    }
  /** The producer fence says these entries were written already (a retry). Nothing written. */
  | {
      readonly status: "duplicate"
      readonly lastSeq: number
      readonly tail: Position
      readonly closed: boolean
    }
  | { readonly status: "missing" }
  /** The log is closed; nothing written. `tail` is its last position. */
  | { readonly status: "closed"; readonly tail: Position }
  | { readonly status: "stale-epoch"; readonly currentEpoch: number }
  | { readonly status: "invalid-epoch-seq" }
  | { readonly status: "sequence-gap"; readonly expectedSeq: number; readonly receivedSeq: number }
  | { readonly status: "writer-seq-conflict"; readonly lastWriterSeq: string }
  /** The fence's ownership check failed: `owner` is the log's owner now. */
  | { readonly status: "fenced"; readonly owner: string | undefined }
  /** `create` was given and the log exists with another config. */
  | { readonly status: "conflict"; readonly head: LogHead }

/** Options of one {@link Engine.read}. */
export interface ReadOptions {
  /** Whether the read slides the log's `ttlMs`. Default `true`. */
  readonly touch?: boolean
  /**
   * Most bytes of `data` the entries returned hold together (a positive integer), so that a
   * reader that can send only so much makes the store load little more: the first entry is
   * returned whatever its size (a read always moves on), each next one only while those before
   * it hold less than `maxBytes` and it keeps them within it. A byte is a UTF-16 code unit of
   * `data` (`data.length`); an engine may count an entry as larger, never smaller, and then
   * returns fewer (redis counts the UTF-8 bytes it stores, up to three times as many). `more`
   * says whether entries follow, whichever bound ended the read. Default: only `limit` bounds it.
   */
  readonly maxBytes?: number
}

/** What a read returned. */
export type ReadResult =
  | {
      readonly held: true
      /**
       * The position read after (`START` resolved to the log's floor, a former epoch's position
       * to the current epoch's: see {@link LogHead.formerEpochs}).
       */
      readonly after: Position
      /**
       * Up to `limit` entries (and about {@link ReadOptions.maxBytes}), oldest first, the first
       * being the successor of `after`.
       */
      readonly entries: readonly Entry[]
      /** More entries follow the last one returned. */
      readonly more: boolean
      readonly tail: Position
      /** The log is closed and `entries` reach its end. */
      readonly closed: boolean
    }
  | {
      readonly held: false
      readonly after: string
      /**
       * `missing`: no such log (never created, deleted, expired). `trimmed`: entries after the
       * position were dropped by retention. `other-epoch`: the position is from another
       * incarnation of the log. `ahead`: the position is past the tail. `malformed`: not a
       * position at all.
       */
      readonly reason: "missing" | "trimmed" | "other-epoch" | "ahead" | "malformed"
    }

/** What {@link Engine.create} did. */
export type CreateResult =
  | { readonly status: "created"; readonly head: LogHead }
  /** It existed with an equal config: nothing changed. */
  | { readonly status: "exists"; readonly head: LogHead }
  /** It exists with another config: nothing changed. */
  | { readonly status: "conflict"; readonly head: LogHead }

/** Where a log's live appends go on this node. */
export interface FeedSink {
  /**
   * Entries appended to the log, in log order, batched as appended; `closed` when the log was
   * closed by that append (a close with no entries comes with an empty batch). A feed may be
   * late, may repeat entries and may skip some: {@link follow} checks seqs and fills holes.
   */
  onAppend(entries: readonly Entry[], closed: boolean): void
  /**
   * The feed may have missed appends (a reconnect, a deleted or re-created log): the receiver
   * re-reads from where it is, and the read says whether that is still held.
   */
  onLost(): void
}

/** A cross-node control message. */
export interface Signal {
  readonly topic: string
  readonly payload: string
}

/** A page of {@link Engine.list}. */
export interface LogList {
  readonly logs: readonly LogHead[]
  /** Pass as `after` for the next page; absent on the last. */
  readonly next?: string
}

/** Where logs live and how they travel between nodes. One per process, shared by every app. */
export interface Engine {
  /** `"memory"`, `"sqlite"`, `"redis"`. */
  readonly name: string

  /**
   * Creates a log; idempotent for an equal config. An engine with a bound on its logs rejects
   * with a `TooManyLogsError` (too-many-logs.ts) at it, and so does an `append` that creates.
   */
  create(log: string, config?: LogConfig): Promise<CreateResult>
  /**
   * What the engine holds of a log, or `undefined` when there is no such log (or it expired).
   * Not a read: it does not touch a sliding `ttlMs` (Durable Streams' HEAD must not).
   */
  head(log: string): Promise<LogHead | undefined>
  /** Deletes a log and its entries; its followers end. `false` when there was none. */
  delete(log: string): Promise<boolean>
  /** Logs whose name starts with `prefix`, in name order, `limit` at a time. */
  list(options: {
    readonly prefix?: string
    readonly after?: string
    readonly limit: number
  }): Promise<LogList>

  /**
   * Appends a batch atomically, with its checks. See {@link AppendResult}. An engine whose storage
   * has no room for it rejects with a `StorageFullError` (storage-full.ts): nothing was stored.
   */
  append(log: string, entries: readonly NewEntry[], options?: AppendOptions): Promise<AppendResult>
  /**
   * Up to `limit` entries after `after` (a position or `START`), oldest first, and about
   * `options.maxBytes` of data when given ({@link ReadOptions.maxBytes}). A read touches a
   * sliding `ttlMs` unless `options.touch` is `false` (a Durable Streams fork reading the source
   * it inherits from: that is not a read of the source).
   */
  read(log: string, after: Position, limit: number, options?: ReadOptions): Promise<ReadResult>
  /** The position of the oldest held entry with this key, or `undefined`. */
  locate(log: string, key: string): Promise<Position | undefined>
  /**
   * Sets the log's durable stop flag (an append then reports it). `false` when there is no such
   * log, or none in `options.epoch` (see {@link StopOptions.epoch}): then nothing is marked.
   */
  requestStop(log: string, options?: StopOptions): Promise<boolean>

  /**
   * Starts delivering the log's live appends on this node to `sink`. Resolves once the feed is
   * active: every append stored after that reaches the sink (or is reported lost). Returns the
   * function that stops it. Watching a log that does not exist yet is allowed.
   */
  watch(log: string, sink: FeedSink): Promise<() => void>

  /** Sends a signal to every node (this one included), at most once each. */
  signal(signal: Signal): Promise<void>
  /** Receives signals sent from any node; returns the function that stops it. */
  onSignal(handler: (signal: Signal) => void): () => void

  /** Takes or renews this node's lease for `ttlMs`. */
  holdLease(node: string, ttlMs: number): Promise<void>
  /** Gives the lease up at once (a clean shutdown). */
  releaseLease(node: string): Promise<void>
  /** The nodes whose lease is current. */
  liveNodes(): Promise<readonly string[]>

  /** Releases the engine's resources; pending appends settle first. */
  close(): Promise<void>
}
