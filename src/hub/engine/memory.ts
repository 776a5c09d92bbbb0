import { defaultLogger, type Logger } from "../../logger.js"
import { assertCursor, assertLimit, assertSeq } from "./checks.js"
import {
  EARLIEST,
  type Engine,
  type NewUpdate,
  type ReadResult,
  type RetentionLimits,
  type StoredUpdate,
} from "./engine.js"
import { type Listener, Listeners } from "./listeners.js"
import { type ResolvedRetention, resolveRetention } from "./retention.js"
import { prepareUpdate } from "./update.js"

/** Options for {@link createMemoryEngine}. */
export interface MemoryEngineOptions {
  /** Default: 10 000 updates, 1 hour. */
  readonly retention?: RetentionLimits
  /** The clock stamping `time` and ageing updates out (ms since the epoch). Default `Date.now`. */
  readonly now?: () => number
  /** Receives what a live-feed listener throws (a bug in its owner). Default: {@link defaultLogger}. */
  readonly logger?: Logger
}

/** The memory engine's retention when none is given: 10 000 updates, at most one hour old. */
export const MEMORY_RETENTION_DEFAULTS: ResolvedRetention = { maxEvents: 10_000, maxAgeMs: 60 * 60 * 1000 }

/** Slots freed at the front of the buffer before it is compacted (amortized O(1) eviction). */
const COMPACT_AFTER = 1024

/**
 * The in-process engine: a bounded ring of updates with O(1) cursor lookup. Nothing survives the
 * process; use it for tests, development, or a hub whose clients can live with a fresh start.
 */
export function createMemoryEngine(options: MemoryEngineOptions = {}): Engine {
  return new MemoryEngine(options)
}

class MemoryEngine implements Engine {
  readonly name = "memory"
  readonly #retention: ResolvedRetention
  readonly #now: () => number
  readonly #listeners: Listeners
  /** Held updates are `#updates[#head..]`; their seqs are consecutive, so a seq maps to a slot. */
  #updates: (StoredUpdate | undefined)[] = []
  #head = 0
  #nextSeq = 1
  /** id → seq of the earliest held update with that id: the cursor lookup, O(1). */
  readonly #firstSeq = new Map<string, number>()
  /** id → seq of the newest held update with that id, only for ids used more than once. */
  readonly #lastSeq = new Map<string, number>()
  /** seq → seq of the next held update with the same id, only for ids used more than once. */
  readonly #nextSameId = new Map<number, number>()
  #closed = false

  constructor(options: MemoryEngineOptions) {
    this.#retention = resolveRetention(options.retention, MEMORY_RETENTION_DEFAULTS, "memory")
    this.#now = options.now ?? Date.now
    const logger = options.logger ?? defaultLogger()
    this.#listeners = new Listeners((error) =>
      logger.error({ err: error }, `herald ${this.name} engine: a live-feed listener threw`),
    )
  }

  async append(updates: readonly NewUpdate[]): Promise<readonly StoredUpdate[]> {
    this.#assertOpen()
    if (!Array.isArray(updates)) throw new TypeError("append() takes an array of updates.")
    // Every update is checked and serialized before any is stored: a batch is all or nothing.
    const prepared = updates.map(prepareUpdate)
    if (prepared.length === 0) return []
    const time = this.#now()
    const stored: StoredUpdate[] = prepared.map((update) => ({ seq: this.#nextSeq++, ...update, time }))
    for (const update of stored) this.#store(update)
    while (this.#held() > this.#retention.maxEvents) this.#evictOldest()
    this.#expire()
    this.#listeners.notify(stored)
    return stored
  }

  listen(listener: Listener): () => void {
    this.#assertOpen()
    return this.#listeners.add(listener)
  }

  async readAfter(cursor: string, limit: number): Promise<ReadResult> {
    this.#assertOpen()
    assertLimit(limit)
    assertCursor(cursor)
    this.#expire()
    if (cursor === EARLIEST) return this.#page(this.#head, limit)
    const seq = this.#firstSeq.get(cursor)
    if (seq === undefined) return { found: false }
    return this.#page(this.#slot(seq) + 1, limit)
  }

  async readAfterSeq(seq: number, limit: number): Promise<ReadResult> {
    this.#assertOpen()
    assertLimit(limit)
    assertSeq(seq)
    this.#expire()
    const oldest = this.#updates[this.#head]
    if (oldest === undefined) {
      return seq >= this.#nextSeq - 1 ? { found: true, updates: [], more: false } : { found: false }
    }
    if (seq < oldest.seq - 1) return { found: false }
    return this.#page(this.#slot(Math.min(seq, this.#nextSeq - 1)) + 1, limit)
  }

  async lastId(): Promise<string | undefined> {
    this.#assertOpen()
    this.#expire()
    return this.#held() === 0 ? undefined : this.#updates[this.#updates.length - 1]?.id
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#listeners.clear()
    this.#updates = []
    this.#head = 0
    this.#firstSeq.clear()
    this.#lastSeq.clear()
    this.#nextSameId.clear()
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("memory engine: the engine is closed.")
  }

  #held(): number {
    return this.#updates.length - this.#head
  }

  /** The array index of a held seq. */
  #slot(seq: number): number {
    const oldest = this.#updates[this.#head] as StoredUpdate
    return this.#head + (seq - oldest.seq)
  }

  #page(from: number, limit: number): ReadResult {
    const to = Math.min(from + limit, this.#updates.length)
    const updates = this.#updates.slice(from, to) as StoredUpdate[]
    return { found: true, updates, more: to < this.#updates.length }
  }

  #store(update: StoredUpdate): void {
    this.#updates.push(update)
    const first = this.#firstSeq.get(update.id)
    if (first === undefined) {
      this.#firstSeq.set(update.id, update.seq)
      return
    }
    // A reused id: the cursor keeps meaning the earliest use; chain this one behind the newest
    // so evicting the earliest hands the id on to the next use in O(1).
    const newest = this.#lastSeq.get(update.id) ?? first
    this.#nextSameId.set(newest, update.seq)
    this.#lastSeq.set(update.id, update.seq)
  }

  #evictOldest(): void {
    const oldest = this.#updates[this.#head] as StoredUpdate
    this.#updates[this.#head] = undefined
    this.#head++
    // Eviction goes in seq order, so the evicted update is always the earliest use of its id.
    const next = this.#nextSameId.get(oldest.seq)
    if (next === undefined) {
      this.#firstSeq.delete(oldest.id)
      this.#lastSeq.delete(oldest.id)
    } else {
      this.#nextSameId.delete(oldest.seq)
      this.#firstSeq.set(oldest.id, next)
      if (this.#lastSeq.get(oldest.id) === next) this.#lastSeq.delete(oldest.id)
    }
    if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#updates.length) {
      this.#updates = this.#updates.slice(this.#head)
      this.#head = 0
    }
  }

  /** Drops updates older than `maxAgeMs`; costs O(1) plus O(1) per update dropped. */
  #expire(): void {
    if (this.#retention.maxAgeMs === Number.POSITIVE_INFINITY) return
    const cutoff = this.#now() - this.#retention.maxAgeMs
    for (let oldest = this.#updates[this.#head]; oldest !== undefined && oldest.time < cutoff; ) {
      this.#evictOldest()
      oldest = this.#updates[this.#head]
    }
  }
}
