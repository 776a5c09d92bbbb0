/**
 * The engine contract (DESIGN.md "The engine"): where updates live and how they travel. The hub
 * never touches storage directly; it appends updates, listens to the ordered live feed of its
 * node, and reads history after a cursor to resume a subscriber.
 *
 * Invariants every engine keeps (checked on every engine by one shared suite,
 * test/hub/engine-suite.ts):
 * 1. Cursors are totally ordered per hub; reading after cursor c yields exactly the updates after
 *    c, in order; `follow()` (follow.ts) hands over to live updates with no gap and no duplicate.
 * 2. A cursor the engine no longer holds (evicted, unknown, from another hub) is answered with
 *    `{ found: false }` — never a silent stall, never a silent gap.
 * 3. Looking a cursor up costs O(log n) or better, whatever the history length.
 * 4. Appending never waits for a subscriber (per-subscriber queues live in the hub).
 * 5. An update is serialized once, at append: every subscriber gets the same `frame` string.
 */

/** An update as a publisher gave it, validated. */
export interface NewUpdate {
  /** Canonical topic first, then alternate topics. At least one. */
  readonly topics: readonly string[]
  readonly data: string
  readonly private: boolean
  /** Publisher-supplied id; the engine generates one (`urn:uuid:…`) when absent. */
  readonly id?: string
  /** SSE `event` field. */
  readonly type?: string
  /** SSE `retry` field, ms. */
  readonly retry?: number
}

/** An update the engine has accepted: ordered, identified, serialized once. */
export interface StoredUpdate {
  /** Position in the hub's total order: strictly increasing, never reused. */
  readonly seq: number
  /** The SSE id (the publisher's, or the generated one). The cursor clients resume from. */
  readonly id: string
  readonly topics: readonly string[]
  readonly data: string
  readonly private: boolean
  readonly type: string | undefined
  readonly retry: number | undefined
  /** When the engine accepted it (ms since the epoch). */
  readonly time: number
  /** The complete SSE frame (`id:`, `event:`, `retry:`, `data:` lines and the blank line). */
  readonly frame: string
}

/** The answer to "what came after this cursor?". */
export type ReadResult =
  /** The cursor is held: up to `limit` updates after it, oldest first; `more` if others follow. */
  | { readonly found: true; readonly updates: readonly StoredUpdate[]; readonly more: boolean }
  /** The cursor is not held — evicted, never seen, or from another hub. Never a silent gap. */
  | { readonly found: false }

/** Retention: the oldest updates go first when either bound is exceeded. Both are bounded by default. */
export interface RetentionLimits {
  /** Most updates kept. */
  readonly maxEvents?: number
  /** Oldest update kept, in ms of age. */
  readonly maxAgeMs?: number
}

/** Where events live and how they travel. One per hub process. */
export interface Engine {
  /** `"memory"`, `"sqlite"`, `"redis"`. */
  readonly name: string
  /**
   * Accepts updates atomically and in order: on resolve they are durable (for durable engines)
   * and have been handed, in order, to every {@link Engine.listen} listener of every node.
   * Never waits for subscribers.
   */
  append(updates: readonly NewUpdate[]): Promise<readonly StoredUpdate[]>
  /**
   * The node's ordered live feed: every update appended from now on, in cursor order, exactly
   * once, batched as appended. Returns a function that stops listening.
   */
  listen(listener: (updates: readonly StoredUpdate[]) => void): () => void
  /**
   * Up to `limit` updates after `cursor`, oldest first. `"earliest"` reads from the oldest
   * update held. A cursor repeated by several updates resolves to the earliest of them.
   */
  readAfter(cursor: string, limit: number): Promise<ReadResult>
  /**
   * Up to `limit` updates whose `seq` is greater than `seq`, oldest first: how a replay pages
   * on once it has started, since ids may repeat and an id is no exact position. `{ found:
   * false }` when some update after `seq` is no longer held (evicted while the replay was
   * being delivered): a gap the caller must not hide. A `seq` at or past the newest update is
   * found, with no updates.
   */
  readAfterSeq(seq: number, limit: number): Promise<ReadResult>
  /** The id of the newest update held, or `undefined` when the history is empty. */
  lastId(): Promise<string | undefined>
  /** Releases the engine's resources; pending appends settle first. */
  close(): Promise<void>
}

/** The reserved cursor meaning "everything the hub holds". */
export const EARLIEST = "earliest"
