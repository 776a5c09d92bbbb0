import type { Engine, StoredUpdate } from "./engine.js"

/** Options for {@link follow}. */
export interface FollowOptions {
  /** Updates read per history page while replaying. Default 256. */
  readonly pageSize?: number
  /**
   * Most live updates held back while the replay is still being delivered. Past it the
   * follower stops and `onOverflow` runs (the hub then closes the connection and the client
   * resumes from its cursor). Default 10 000.
   */
  readonly maxPending?: number
  /**
   * Called once if the follower had to stop before catching up: `"pending"` when more than
   * `maxPending` live updates were held back, `"evicted"` when history it had yet to replay was
   * evicted meanwhile (a slow replay against a short retention). Either way the hub closes the
   * connection and the client resumes from its cursor, which then answers honestly. An
   * overflow found before {@link Follower.start} is reported when `start` is called, once the
   * caller has a connection to close (and not at all if it calls `stop` instead).
   */
  readonly onOverflow?: (reason: "pending" | "evicted") => void
  /**
   * Called once if delivering a live update threw (a bug in `deliver`, a transport that
   * failed): the follower has stopped, so the owner must end the subscriber's stream — left
   * open, it would carry heartbeats and nothing else — and the client resumes from its cursor.
   * Without it, the error is thrown to the engine, which reports it as a listener's.
   */
  readonly onError?: (error: unknown) => void
}

/** One subscriber's ordered view of the engine: history after a cursor, then live updates. */
export interface Follower {
  /**
   * `"fresh"`: no cursor was given, only live updates follow. `"found"`: the cursor is held and
   * replay starts right after it. `"not-found"`: the cursor is not held (evicted, unknown, or
   * from another hub) — only live updates follow, and the hub must tell the client so.
   */
  readonly status: "fresh" | "found" | "not-found"
  /**
   * Starts delivery: the replay (if any), then live updates, in cursor order, each exactly
   * once. When `deliver` returns `false` (the subscriber is backpressured) the replay waits for
   * `whenWritable()` before reading on. Resolves once the replay is delivered and the follower
   * is live. Call once. Once live, a batch of several updates appended together goes to
   * `deliverBatch` when given — the same array for every follower, so a subscriber taking all
   * of it can write one shared frame — instead of to `deliver` one by one.
   */
  start(
    deliver: (update: StoredUpdate) => boolean,
    whenWritable: () => Promise<void>,
    deliverBatch?: (updates: readonly StoredUpdate[]) => void,
  ): Promise<void>
  /** Stops listening and releases everything held; safe to call more than once. */
  stop(): void
}

/**
 * Opens a follower on `engine` from `cursor` (`undefined` for live only, `"earliest"` for all
 * history). It listens to the live feed before reading history, so nothing published in
 * between is lost; updates the replay already delivered are not delivered twice.
 * Resolves once the cursor has been looked up, before anything is delivered, so the caller can
 * set response headers that depend on {@link Follower.status}.
 */
export async function follow(
  engine: Engine,
  cursor: string | undefined,
  options: FollowOptions = {},
): Promise<Follower> {
  const pageSize = options.pageSize ?? 256
  const maxPending = options.maxPending ?? 10_000
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new RangeError(`follow(): pageSize must be a positive integer; got ${String(pageSize)}.`)
  }
  if (!Number.isSafeInteger(maxPending) || maxPending < 1) {
    throw new RangeError(`follow(): maxPending must be a positive integer; got ${String(maxPending)}.`)
  }
  const follower = new EngineFollower(engine, pageSize, maxPending, options.onOverflow, options.onError)
  await follower.open(cursor)
  return follower
}

type Deliver = (update: StoredUpdate) => boolean

class EngineFollower implements Follower {
  status: Follower["status"] = "fresh"
  readonly #engine: Engine
  readonly #pageSize: number
  readonly #maxPending: number
  readonly #onOverflow: ((reason: "pending" | "evicted") => void) | undefined
  readonly #onError: ((error: unknown) => void) | undefined
  #unlisten: (() => void) | undefined
  /** Live updates held back while the replay is delivered, oldest first. */
  #pending: StoredUpdate[] = []
  /** The page read while looking the cursor up, delivered first by `start`. */
  #firstPage: readonly StoredUpdate[] = []
  #firstPageMore = false
  /** The seq of the last update delivered: anything at or below it is a duplicate. */
  #lastSeq = Number.NEGATIVE_INFINITY
  /** Set once the replay is delivered: live updates then go straight to `deliver`. */
  #deliver: Deliver | undefined
  #deliverBatch: ((updates: readonly StoredUpdate[]) => void) | undefined
  #started = false
  #stopped = false
  /** An overflow found before `start`, reported by `start`. */
  #overflowBeforeStart: "pending" | "evicted" | undefined

  constructor(
    engine: Engine,
    pageSize: number,
    maxPending: number,
    onOverflow: ((reason: "pending" | "evicted") => void) | undefined,
    onError: ((error: unknown) => void) | undefined,
  ) {
    this.#engine = engine
    this.#pageSize = pageSize
    this.#maxPending = maxPending
    this.#onOverflow = onOverflow
    this.#onError = onError
  }

  async open(cursor: string | undefined): Promise<void> {
    // Listen first: whatever is appended while history is read lands in #pending, and the
    // seq comparison in delivery drops what the history already held.
    this.#unlisten = this.#engine.listen((updates) => this.#onLive(updates))
    if (cursor === undefined) return
    try {
      const result = await this.#engine.readAfter(cursor, this.#pageSize)
      if (result.found) {
        this.status = "found"
        this.#firstPage = result.updates
        this.#firstPageMore = result.more
      } else {
        this.status = "not-found"
      }
    } catch (error) {
      this.stop()
      throw error
    }
  }

  async start(
    deliver: Deliver,
    whenWritable: () => Promise<void>,
    deliverBatch?: (updates: readonly StoredUpdate[]) => void,
  ): Promise<void> {
    if (this.#started) throw new Error("Follower.start() may only be called once.")
    this.#started = true
    this.#deliverBatch = deliverBatch
    const early = this.#overflowBeforeStart
    if (early !== undefined) {
      this.#overflowBeforeStart = undefined
      this.#onOverflow?.(early)
      return
    }
    try {
      await this.#catchUp(deliver, whenWritable)
    } catch (error) {
      this.stop()
      throw error
    }
  }

  stop(): void {
    // The caller stopping first means it will not want an overflow found before start().
    this.#overflowBeforeStart = undefined
    if (this.#stopped) return
    this.#stopped = true
    this.#unlisten?.()
    this.#unlisten = undefined
    this.#pending = []
    this.#firstPage = []
    this.#deliver = undefined
    this.#deliverBatch = undefined
  }

  async #catchUp(deliver: Deliver, whenWritable: () => Promise<void>): Promise<void> {
    let page = this.#firstPage
    let more = this.#firstPageMore
    this.#firstPage = []
    let blocked = false
    // The replay, page by page. Later pages are read by seq, not by id: ids may repeat.
    while (!this.#stopped) {
      blocked = this.#deliverAll(page, deliver) || blocked
      if (!more || this.#stopped) break
      if (blocked) {
        await whenWritable()
        blocked = false
        if (this.#stopped) return
      }
      const next = await this.#engine.readAfterSeq(this.#lastSeq, this.#pageSize)
      if (this.#stopped) return
      if (!next.found) {
        // What the client has yet to see is gone: stopping is honest, going on would be a gap.
        this.#overflow("evicted")
        return
      }
      page = next.updates
      more = next.more
    }
    // The live updates held back meanwhile, in pages too, so a slow subscriber still paces us.
    while (!this.#stopped) {
      if (blocked) {
        await whenWritable()
        blocked = false
        if (this.#stopped) return
      }
      if (this.#pending.length === 0) {
        // No await between this check and the switch: no live update can slip in between.
        this.#deliver = deliver
        return
      }
      blocked = this.#deliverAll(this.#pending.splice(0, this.#pageSize), deliver)
    }
  }

  /** Delivers updates past `#lastSeq`; true if the subscriber asked to wait. */
  #deliverAll(updates: readonly StoredUpdate[], deliver: Deliver): boolean {
    let blocked = false
    for (const update of updates) {
      if (this.#stopped) break
      if (update.seq <= this.#lastSeq) continue
      this.#lastSeq = update.seq
      if (deliver(update) === false) blocked = true
    }
    return blocked
  }

  #onLive(updates: readonly StoredUpdate[]): void {
    if (this.#stopped) return
    const deliver = this.#deliver
    if (deliver !== undefined) {
      // Live: the hub's per-subscriber queue absorbs bursts and applies its own policy.
      try {
        const batch = this.#deliverBatch
        const first = updates[0] as StoredUpdate
        const last = updates[updates.length - 1] as StoredUpdate
        if (batch !== undefined && updates.length > 1 && first.seq > this.#lastSeq) {
          // Appended together, in order, all new: one call for the lot.
          this.#lastSeq = last.seq
          batch(updates)
        } else {
          this.#deliverAll(updates, deliver)
        }
      } catch (error) {
        this.stop()
        if (this.#onError === undefined) throw error
        this.#onError(error)
      }
      return
    }
    for (const update of updates) this.#pending.push(update)
    if (this.#pending.length > this.#maxPending) this.#overflow("pending")
  }

  #overflow(reason: "pending" | "evicted"): void {
    if (this.#stopped) return
    this.stop()
    // Before start() the caller may have no connection yet to close: report it from start().
    if (this.#started) this.#onOverflow?.(reason)
    else this.#overflowBeforeStart = reason
  }
}
