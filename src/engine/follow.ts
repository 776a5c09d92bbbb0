/**
 * Replay then live, written once above every engine (ENGINE-NOTES.md lessons 5 and 6): watch the
 * log first, then read; deduplicate by seq; fill every hole of the live feed with a read; end
 * honestly when a hole cannot be filled.
 */

import type { Engine, Entry, LogHead, ReadOptions, ReadResult } from "./engine.js"
import { sharedUntil } from "./former-epochs.js"
import { formatPosition, type ParsedPosition, type Position, parsePosition, type START } from "./position.js"

/** Why a follower ended. */
export type FollowEnd =
  /** The log was closed and its last entry delivered. */
  | "closed"
  /** More than `maxPending` live entries (or `maxPendingBytes`) piled up while the follower was catching up. */
  | "pending"
  /** Entries the follower had yet to deliver are gone (trimmed, another epoch). */
  | "gap"
  /** The log was deleted (or expired). */
  | "deleted"
  /** `deliver`, `whenWritable` or a read threw; the error comes with it. */
  | "error"

/** What a follower needs of an engine: its feed, heads and reads (a wrapper may gate the reads). */
export type FollowSource = Pick<Engine, "watch" | "head" | "read">

/** Why a read was not held: see {@link ReadResult}. */
export type NotHeldReason = Extract<ReadResult, { held: false }>["reason"]

/** Options for {@link follow}. */
export interface FollowOptions {
  /** Most entries read per page while replaying or filling a hole. Default 256. */
  readonly pageSize?: number
  /**
   * Most bytes of entries (their `data`, in UTF-16 code units) a page keeps, at least one entry:
   * a reader that asks to wait holds no more than one page. Each read gives it to the engine as
   * its `maxBytes`, so the store loads no more (and a source that returns more has the rest
   * dropped, to be read again later). Default 256 KiB.
   */
  readonly maxPageBytes?: number
  /**
   * Most live entries held back while the follower catches up (the replay, a hole being
   * filled). Past it the follower ends with `"pending"`. Default 10 000.
   */
  readonly maxPending?: number
  /**
   * Most bytes of live entries held back while the follower catches up; past it the follower
   * ends with `"pending"`. The feed's entries are the same objects for every follower of a log
   * on this node, so this also bounds what all of them hold of it. Default 16 MiB.
   */
  readonly maxPendingBytes?: number
  /**
   * What to do when the position given is not held: `"live"` (default) follows live from the
   * tail, as Mercure does with an unknown id; `"end"` ends at once — `start()` resolves and
   * `onEnd` is not called; the caller reads {@link Follower.status}.
   */
  readonly notHeld?: "live" | "end"
  /**
   * Called at most once when the follower ends by itself (not after `stop()`). An end found
   * before {@link Follower.start} is reported by `start`, once the caller has a connection to
   * close (and not at all if it calls `stop` instead).
   */
  readonly onEnd?: (reason: FollowEnd, error?: unknown) => void
  /**
   * Given, a log found recreated while followed — gone (deleted, expired, lost with its store),
   * and maybe created again, in a new epoch, or holding less than was delivered (a store that
   * lost its last appends) — no longer ends the follower with `"gap"` or
   * `"deleted"`: this is called, and the follower goes on with the log's new incarnation, from
   * its first entry held (or, while there is none, from the first entry of the one to come), or,
   * when the new epoch continues the old one (a replication fork), after the last entry they
   * share, or after the tail of the same epoch. What the old incarnation held past that is gone;
   * the caller says so.
   * A trim within the epoch still ends with `"gap"`.
   */
  readonly onRecreated?: () => void
}

/** One reader's ordered view of a log: the entries after a position, then live ones. */
export interface Follower {
  /**
   * `"live"`: no position was given, only entries appended from now on follow. `"held"`: the
   * position is held and its successors follow. `"not-held"`: it is not (see `reason`).
   */
  readonly status: "live" | "held" | "not-held"
  /** Why the position is not held, when {@link Follower.status} is `"not-held"`. */
  readonly reason: NotHeldReason | undefined
  /**
   * The position delivery starts after: the one read after (`START` resolved to the floor), or
   * the tail a live follower starts from; `undefined` when the log does not exist yet.
   */
  readonly after: Position | undefined
  /**
   * Starts delivery: the replay, then live entries, in log order, each exactly once. When
   * `deliver` returns `false` (the reader is backpressured), nothing more is delivered until
   * `whenWritable()` resolves: not the rest of a replay page, nor of a feed batch (a live entry
   * that comes alone is the transport's to queue). Resolves once the follower is live or has ended. Call
   * once. Once live, a feed batch of several new entries goes to `deliverBatch` when given —
   * the same array for every follower of the node, so a reader taking all of it can write one
   * shared frame — instead of to `deliver` one by one.
   */
  start(
    deliver: (entry: Entry) => boolean,
    whenWritable: () => Promise<void>,
    deliverBatch?: (entries: readonly Entry[]) => void,
  ): Promise<void>
  /** Stops following and releases the watch; safe to call more than once. */
  stop(): void
}

/**
 * Opens a follower of `log` on `engine`, after `from` (a position, or `START` for everything
 * held; `undefined` for live entries only). It watches the log before reading it, so nothing
 * appended in between is lost, and drops what it delivered already. Resolves once the position
 * has been looked up, before anything is delivered, so the caller can set headers that depend
 * on {@link Follower.status}.
 */
export async function follow(
  engine: FollowSource,
  log: string,
  from: Position | typeof START | undefined,
  options: FollowOptions = {},
): Promise<Follower> {
  const bounds: Bounds = {
    pageSize: options.pageSize ?? 256,
    maxPageBytes: options.maxPageBytes ?? 256 * 1024,
    maxPending: options.maxPending ?? 10_000,
    maxPendingBytes: options.maxPendingBytes ?? 16 * 1024 * 1024,
  }
  for (const [name, value] of Object.entries(bounds)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`follow(): ${name} must be a positive integer; got ${String(value)}.`)
    }
  }
  const follower = new LogFollower(engine, log, bounds, options.onEnd, options.onRecreated)
  await follower.open(from, options.notHeld ?? "live")
  return follower
}

type Deliver = (entry: Entry) => boolean

/** The bounds of one follower: {@link FollowOptions} with their defaults. */
interface Bounds {
  readonly pageSize: number
  readonly maxPageBytes: number
  readonly maxPending: number
  readonly maxPendingBytes: number
}

class LogFollower implements Follower {
  status: Follower["status"] = "live"
  reason: NotHeldReason | undefined
  after: Position | undefined
  readonly #engine: FollowSource
  readonly #log: string
  readonly #bounds: Bounds
  readonly #onEnd: FollowOptions["onEnd"]
  readonly #onRecreated: FollowOptions["onRecreated"]
  /** What each read asks of the engine besides its position: a page's worth. */
  readonly #readOptions: ReadOptions
  #unwatch: (() => void) | undefined

  /**
   * The watermark: the epoch followed (`undefined` until one is known, for a log that does not
   * exist yet) and the seq of the last entry delivered (or skipped as older than the start).
   */
  #epoch: string | undefined
  /** `${#epoch}_`: what every position of the epoch starts with, checked without allocating. */
  #epochPrefix = ""
  #seq = 0
  /** The seq the log was closed at, once known: the follower ends after delivering it. */
  #closedAt: number | undefined
  /**
   * The log was found recreated, or in an epoch that does not continue the watermark's that far:
   * the watermark to come is in the new epoch (see {@link resumeAfterLoss}).
   */
  #fromFloor = false
  /** The watermark that was lost when `#fromFloor` was set. */
  #lost: ParsedPosition | undefined

  /** Feed entries received while catching up, oldest first (not yet checked). */
  #pending: Entry[] = []
  /** The bytes of `#pending`'s entries. */
  #pendingBytes = 0
  /** The catch-up must read the log (a replay page left, a hole, a lost feed, a bare close). */
  #mustRead = false
  /**
   * How many of `#pending`'s entries were held when the last read (or head) was sent: stored
   * before it ran, so that a read finding nothing after the watermark proves a hole before one of
   * them. An entry held since may have been stored after it ran, as may those it follows.
   */
  #heldAtRead = 0
  /** The page read by `open`, delivered first. */
  #firstPage: readonly Entry[] = []

  #deliver: Deliver | undefined
  #whenWritable: (() => Promise<void>) | undefined
  #deliverBatch: ((entries: readonly Entry[]) => void) | undefined
  /** Delivering straight from the feed; otherwise the catch-up owns delivery. */
  #live = false
  #catchingUp = false
  /** The reader asked to wait: the catch-up delivers nothing more until `whenWritable()` resolves. */
  #blocked = false
  #started = false
  #stopped = false
  /** An end found before `start`, reported by `start`. */
  #endBeforeStart: { readonly reason: FollowEnd; readonly error: unknown } | undefined

  constructor(
    engine: FollowSource,
    log: string,
    bounds: Bounds,
    onEnd: FollowOptions["onEnd"],
    onRecreated: FollowOptions["onRecreated"],
  ) {
    this.#engine = engine
    this.#log = log
    this.#bounds = bounds
    this.#onEnd = onEnd
    this.#onRecreated = onRecreated
    this.#readOptions = { maxBytes: bounds.maxPageBytes }
  }

  async open(from: Position | typeof START | undefined, notHeld: "live" | "end"): Promise<void> {
    // Watch first: whatever is appended while the log is read lands in #pending, and the seq
    // check drops what the read already held.
    this.#unwatch = await this.#engine.watch(this.#log, {
      onAppend: (entries, closed) => this.#onAppend(entries, closed),
      onLost: () => this.#onLost(),
    })
    try {
      if (from === undefined) {
        await this.#startAtTail()
        return
      }
      const result = await this.#engine.read(this.#log, from, this.#bounds.pageSize, this.#readOptions)
      if (result.held) {
        this.status = "held"
        this.after = result.after
        this.#setWatermark(result.after)
        this.#firstPage = this.#keep(result)
        return
      }
      this.status = "not-held"
      this.reason = result.reason
      if (notHeld === "end") this.stop()
      else await this.#startAtTail()
    } catch (error) {
      this.stop()
      throw error
    }
  }

  async start(
    deliver: Deliver,
    whenWritable: () => Promise<void>,
    deliverBatch?: (entries: readonly Entry[]) => void,
  ): Promise<void> {
    if (this.#started) throw new Error("Follower.start() may only be called once.")
    this.#started = true
    const early = this.#endBeforeStart
    if (early !== undefined) {
      this.#endBeforeStart = undefined
      this.#onEnd?.(early.reason, early.error)
      return
    }
    if (this.#stopped) return
    this.#deliver = deliver
    this.#whenWritable = whenWritable
    this.#deliverBatch = deliverBatch
    await this.#catchUp()
  }

  stop(): void {
    // The caller stopping first means it will not want an end found before start().
    this.#endBeforeStart = undefined
    if (this.#stopped) return
    this.#stopped = true
    this.#live = false
    this.#unwatch?.()
    this.#unwatch = undefined
    this.#pending = []
    this.#pendingBytes = 0
    this.#firstPage = []
    this.#deliver = undefined
    this.#whenWritable = undefined
    this.#deliverBatch = undefined
  }

  /** Live only: the watermark is the tail now (or nothing yet, for a log still to be created). */
  async #startAtTail(): Promise<void> {
    const head = await this.#engine.head(this.#log)
    if (head === undefined) return
    this.after = head.tail
    this.#setWatermark(head.tail)
    if (head.closed) this.#closedAt = this.#seq
  }

  #setWatermark(position: Position): void {
    const parsed = parsePosition(position)
    if (parsed === undefined)
      throw new Error(`follow(): the engine answered a malformed position ${position}.`)
    this.#epoch = parsed.epoch
    this.#epochPrefix = `${parsed.epoch}_`
    this.#seq = parsed.seq
  }

  // --- The live feed -------------------------------------------------------------------------

  #onAppend(entries: readonly Entry[], closed: boolean): void {
    if (this.#stopped) return
    if (this.#live) {
      const first = entries[0]
      const last = entries[entries.length - 1]
      if (
        first !== undefined &&
        last !== undefined &&
        this.#epoch !== undefined &&
        first.seq === this.#seq + 1 &&
        last.seq - first.seq === entries.length - 1 &&
        first.position.startsWith(this.#epochPrefix)
      ) {
        this.#deliverLive(entries, closed)
        return
      }
      // Anything else (old entries, a hole, another epoch, a bare close) takes the checked
      // path of the catch-up, which reads the log when something is missing.
      this.#live = false
    }
    this.#hold(entries, closed)
    if (!this.#live && !this.#catchingUp) void this.#catchUp()
  }

  /** The hot path: entries that all continue the watermark, straight from the feed. */
  #deliverLive(entries: readonly Entry[], closed: boolean): void {
    const deliver = this.#deliver as Deliver
    const batch = this.#deliverBatch
    try {
      if (batch !== undefined && entries.length > 1) {
        // Appended together: one call for the lot, with the feed's own array.
        this.#seq = (entries[entries.length - 1] as Entry).seq
        batch(entries)
      } else {
        for (let i = 0; i < entries.length && !this.#stopped; i++) {
          const entry = entries[i] as Entry
          this.#seq = entry.seq
          if (deliver(entry) === false && i + 1 < entries.length) {
            // The reader's transport is full mid-batch: the rest waits for it on the catch-up's
            // path, so that one large batch does not overflow a reader that keeps up.
            this.#live = false
            this.#blocked = true
            this.#hold(entries.slice(i + 1), closed)
            void this.#catchUp()
            return
          }
        }
      }
    } catch (error) {
      this.#end("error", error)
      return
    }
    if (closed) this.#end("closed")
  }

  #onLost(): void {
    if (this.#stopped) return
    this.#mustRead = true
    if (this.#live) {
      this.#live = false
      void this.#catchUp()
    }
  }

  /** Keeps feed entries for the catch-up; ends the follower when too many (or too large) pile up. */
  #hold(entries: readonly Entry[], closed: boolean): void {
    for (const entry of entries) {
      this.#pending.push(entry)
      this.#pendingBytes += entry.data.length
    }
    if (closed) {
      const last = entries[entries.length - 1]
      // A close with entries closed the log at its last one; a bare close says not where.
      if (last !== undefined && this.#isOfEpoch(last)) this.#closedAt = last.seq
      else this.#mustRead = true
    }
    const { maxPending, maxPendingBytes } = this.#bounds
    if (this.#pending.length > maxPending || this.#pendingBytes > maxPendingBytes) this.#end("pending")
  }

  // --- Catching up: replay, holes, lost feeds ------------------------------------------------

  /**
   * Delivers the replay and the held feed entries, reading the log until nothing is missing,
   * then goes live. One runs at a time (before start() none): entries arriving meanwhile are
   * held and delivered by it. Ends the follower instead of throwing.
   */
  async #catchUp(): Promise<void> {
    if (this.#catchingUp || this.#stopped || !this.#started) return
    this.#catchingUp = true
    const deliver = this.#deliver as Deliver
    const whenWritable = this.#whenWritable as () => Promise<void>
    try {
      let page = this.#firstPage
      this.#firstPage = []
      /** The last read found nothing after the watermark. */
      let readNothing = false
      for (;;) {
        if (this.#stopped) return
        if (this.#blocked) {
          await whenWritable()
          this.#blocked = false
          continue
        }
        if (page.length > 0) {
          // A read page: the watermark's successors by contract, all delivered unless the reader waits.
          const used = this.#deliverRun(page, page.length, deliver)
          if (used < page.length && !this.#blocked) this.#end("gap")
          page = page.slice(used)
        } else {
          // Held feed entries, a page at a time so a slow reader still paces us.
          const want = Math.min(this.#bounds.pageSize, this.#pending.length)
          const used = this.#deliverRun(this.#pending, want, deliver)
          for (const entry of this.#pending.splice(0, used)) this.#pendingBytes -= entry.data.length
          if (used < want && !this.#blocked && !this.#stopped) {
            // A hole: read it, unless the last read said the log holds nothing more though the
            // entry after the hole was stored before it ran (held before it was sent). One held
            // since, its predecessors' notices lost, may have been stored after: read again.
            if (readNothing && used < this.#heldAtRead) this.#end("gap")
            this.#mustRead = true
          }
          readNothing = false
        }
        if (this.#stopped) return
        if (this.#closedAt !== undefined && this.#seq >= this.#closedAt) {
          this.#end("closed")
          return
        }
        if (this.#blocked || page.length > 0) continue
        if (!this.#mustRead) {
          if (this.#pending.length > 0) continue
          // No await between "nothing pending" and going live: no entry can slip in between.
          this.#catchingUp = false
          this.#live = true
          return
        }
        this.#mustRead = false
        // Straight into `page`: a local holding the read would keep it whole while the reader waits.
        page = await this.#readPage()
        if (this.#stopped) return
        readNothing = page.length === 0
      }
    } catch (error) {
      this.#end("error", error)
    } finally {
      this.#catchingUp = false
    }
  }

  /**
   * The page after the watermark; none when it is not held (the follower then ended, or went on
   * with the log recreated: see `onRecreated`) or the follower stopped.
   */
  async #readPage(): Promise<readonly Entry[]> {
    // Bounded by the log's incarnations: each turn but the last finds the log recreated.
    for (;;) {
      if (this.#epoch === undefined) {
        // A log created since the follower started: everything in it came after. One recreated
        // under it: what it holds came after what the follower delivered.
        this.#heldAtRead = this.#pending.length
        const head = await this.#engine.head(this.#log)
        if (this.#stopped || head === undefined) return []
        if (this.#epoch === undefined)
          this.#setWatermark(
            this.#fromFloor ? resumeAfterLoss(head, this.#lost) : formatPosition(head.epoch, 0),
          )
        this.#fromFloor = false
      }
      const after = formatPosition(this.#epoch as string, this.#seq)
      this.#heldAtRead = this.#pending.length
      const result = await this.#engine.read(this.#log, after, this.#bounds.pageSize, this.#readOptions)
      if (this.#stopped) return []
      if (result.held) {
        if (!result.after.startsWith(this.#epochPrefix)) {
          // A former epoch's position read as the current epoch's: the log went on under it. A
          // close heard from the former epoch may have been lost with it; the read says.
          this.#setWatermark(result.after)
          this.#closedAt = undefined
        }
        return this.#keep(result)
      }
      // "ahead": what the follower delivered is gone though the epoch stayed (a Redis that lost
      // its last appends, before the log moves to a later epoch).
      if (
        this.#onRecreated === undefined ||
        (result.reason !== "missing" && result.reason !== "other-epoch" && result.reason !== "ahead")
      ) {
        this.#end(result.reason === "missing" ? "deleted" : "gap")
        return []
      }
      this.#recreated()
      if (this.#stopped) return []
    }
  }

  /**
   * The log is gone or another incarnation of it: forgets the old one (the watermark, a close,
   * the feed entries held, of either), tells the caller, and follows the new one from its floor,
   * or from where it continues the old one.
   */
  #recreated(): void {
    this.#lost = this.#epoch === undefined ? undefined : { epoch: this.#epoch, seq: this.#seq }
    this.#epoch = undefined
    this.#epochPrefix = ""
    this.#seq = 0
    this.#closedAt = undefined
    this.#pending = []
    this.#pendingBytes = 0
    this.#heldAtRead = 0
    this.#fromFloor = true
    this.#onRecreated?.()
  }

  /**
   * The page of a held read: its entries up to `maxPageBytes` (at least one), the rest dropped
   * to be read again (a source that did not bound the read). Notes what the read says of the
   * log: more to read, or closed at its end.
   */
  #keep(result: Extract<ReadResult, { held: true }>): readonly Entry[] {
    const { entries } = result
    let bytes = 0
    let kept = 0
    for (; kept < entries.length; kept++) {
      const size = (entries[kept] as Entry).data.length
      if (kept > 0 && bytes + size > this.#bounds.maxPageBytes) break
      bytes += size
    }
    const more = result.more || kept < entries.length
    // Sticky: a loss or a bare close heard while this read was in flight needs another read.
    if (more) this.#mustRead = true
    else if (result.closed) this.#closedAt = entries[entries.length - 1]?.seq ?? this.#seq
    return kept < entries.length ? entries.slice(0, kept) : entries
  }

  /**
   * Delivers `entries[0..limit)` that continue the watermark, in order, up to the first hole or
   * the first entry after which `deliver` asks to wait (it sets #blocked): repeats are skipped,
   * and so is another epoch's entry, after which the log is read (it says whether that epoch
   * continues this one, the log was recreated, or a gap ends the follower). Returns how many it
   * consumed.
   */
  #deliverRun(entries: readonly Entry[], limit: number, deliver: Deliver): number {
    let used = 0
    for (; used < limit && !this.#stopped && !this.#blocked; used++) {
      const entry = entries[used] as Entry
      if (this.#epoch === undefined) this.#setWatermark(formatPosition(this.#epochOf(entry), 0))
      if (!entry.position.startsWith(this.#epochPrefix)) {
        // Another epoch: the read says whether it continues this one, the log was recreated, or
        // the entries after the watermark are lost.
        this.#mustRead = true
        continue
      }
      if (entry.seq <= this.#seq) continue
      if (entry.seq > this.#seq + 1) break
      this.#seq = entry.seq
      if (deliver(entry) === false) this.#blocked = true
    }
    return used
  }

  #isOfEpoch(entry: Entry): boolean {
    return this.#epoch === undefined || entry.position.startsWith(this.#epochPrefix)
  }

  #epochOf(entry: Entry): string {
    const parsed = parsePosition(entry.position)
    if (parsed === undefined)
      throw new Error(`follow(): the feed gave a malformed position ${entry.position}.`)
    return parsed.epoch
  }

  #end(reason: FollowEnd, error?: unknown): void {
    if (this.#stopped) return
    this.stop()
    // Before start() the caller may have no connection yet to close: report it from start().
    if (this.#started) this.#onEnd?.(reason, error)
    else this.#endBeforeStart = { reason, error }
  }
}

/**
 * Where a follower goes on in `head`'s epoch once its watermark `lost` is not held there: after
 * the tail when the epoch is the same (the entries past it were lost), after the last entry the
 * current epoch shares with the lost one's (a replication fork, see {@link LogHead.formerEpochs}),
 * else after the floor (a log recreated).
 */
function resumeAfterLoss(head: LogHead, lost: ParsedPosition | undefined): Position {
  if (lost === undefined) return head.floor
  if (lost.epoch === head.epoch) return head.tail
  const shared = sharedUntil(head, lost.epoch)
  const floor = parsePosition(head.floor)
  if (shared === undefined || floor === undefined) return head.floor
  return formatPosition(head.epoch, Math.max(floor.seq, shared))
}
