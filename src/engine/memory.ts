import { defaultLogger, type FailureStreak, failureStreak, type Logger } from "../logger.js"
import {
  assertAppendOptions,
  assertDuration,
  assertLimit,
  assertLogName,
  assertNodeName,
  assertReadOptions,
  assertStopOptions,
  assertString,
  checkedNewEntries,
} from "./checks.js"
import { checkLogConfig, sameConfig, withOwner } from "./config.js"
import type {
  AppendOptions,
  AppendResult,
  CreateResult,
  Engine,
  Entry,
  FeedSink,
  LogConfig,
  LogHead,
  LogList,
  NewEntry,
  ReadOptions,
  ReadResult,
  Retention,
  Signal,
  StopOptions,
} from "./engine.js"
import { EntryRing, entryBytes, stringBytes } from "./entry-ring.js"
import type { EngineHealth, HealthCapability } from "./health.js"
import { LocalFeed } from "./local-feed.js"
import { formatPosition, newEpoch, type Position, parsePosition, START } from "./position.js"
import { checkProducer, type ProducerState } from "./producer.js"
import { RETENTION_DEFAULTS, type ResolvedRetention, resolveRetention } from "./retention.js"
import { StorageFullError } from "./storage-full.js"
import { TooManyLogsError } from "./too-many-logs.js"

/** Options for {@link createMemoryEngine}. */
export interface MemoryEngineOptions {
  /** Every log's retention unless its config says otherwise. Default: 10 000 entries, 1 hour. */
  readonly retention?: Retention
  /** The clock: entry times, age retention, TTLs, leases (ms since the epoch). Default `Date.now`. */
  readonly now?: () => number
  /**
   * Receives what a feed sink or signal handler throws (a bug in its owner), and appends refused
   * at `maxBytes` (once as refusals start, once as appends fit again). Default: {@link defaultLogger}.
   */
  readonly logger?: Logger
  /** Most logs held at once; creating one more throws a `TooManyLogsError`. Default 100 000. */
  readonly maxLogs?: number
  /**
   * Most memory the entries of every log may take, about (a character of data or key as a byte,
   * plus ~128 bytes per entry); an append past it is refused with a `StorageFullError` (every app
   * answers 507) until retention, TTLs or deletes free some, and `health()` says `full`. Default 256 MiB.
   */
  readonly maxBytes?: number
}

/** How often the background sweep looks for expired logs and aged entries. */
const SWEEP_INTERVAL_MS = 1000
/** Logs the background sweep visits per run: its work per tick stays bounded. */
const SWEEP_BATCH = 1000
/**
 * How long after an append was refused at `maxBytes` the engine still says it is full, whatever
 * fits meanwhile: a small append fits where a large one did not, and the state and its log lines
 * would flap with every append at the bound (as sqlite's disk).
 */
const NO_ROOM_HOLD_MS = 30_000
/** What makes room when the bound is reached, as a `StorageFullError` names it. */
const RAISE_MAX_BYTES = "raise maxBytes (herald serve's --memory-max-bytes)"

/**
 * The in-process engine: every log a ring of entries with O(1) lookup by position and key.
 * Nothing survives the process; for tests, development, or a single node whose clients can live
 * with a fresh start (their positions then answer "other-epoch", never a wrong entry). `health()`
 * says `full` while appends are refused at `maxBytes`; the store itself always answers.
 */
export function createMemoryEngine(options: MemoryEngineOptions = {}): Engine & HealthCapability {
  return new MemoryEngine(options)
}

/** One incarnation of a log. */
interface MemoryLog {
  readonly name: string
  readonly epoch: string
  readonly config: LogConfig
  readonly retention: ResolvedRetention
  readonly createdAt: number
  readonly entries: EntryRing
  /** Last append, read or head: the sliding TTL counts from it. */
  touchedAt: number
  closed: boolean
  stopRequested: boolean
  /** The owner now: a takeover changes it (the config keeps the owner it was created with). */
  owner: string | undefined
  readonly producers: Map<string, ProducerState>
  /** About the memory `producers` holds ({@link producerStateBytes}): counted against `maxBytes` with the entries. */
  producerBytes: number
  lastWriterSeq: string | undefined
}

/** What a producer's state costs besides its id (its object, its map slot), about. */
const PRODUCER_OVERHEAD_BYTES = 64

/** About the memory the state of producer `id` holds: a character as a byte, plus its overhead. */
function producerStateBytes(id: string): number {
  return stringBytes(id) + PRODUCER_OVERHEAD_BYTES
}

class MemoryEngine implements Engine, HealthCapability {
  readonly name = "memory"
  readonly #retention: ResolvedRetention
  readonly #now: () => number
  readonly #logger: Logger
  readonly #maxLogs: number
  readonly #maxBytes: number
  /** What the entries of every log take, about: the sum of their rings' `bytes`. */
  #heldBytes = 0
  /** When a refused append last looked at every log for what expired or aged. */
  #fullPassAt = Number.NEGATIVE_INFINITY
  /** "its bound of N bytes (maxBytes)": what is full, as a `StorageFullError` and the log name it. */
  readonly #bound: string
  /** Appends refused at `maxBytes`: one line as refusals start, one as appends fit again. */
  readonly #noRoom: FailureStreak
  /** The last append refused at `maxBytes` (when, and the bytes it needed), until appends fit again. */
  #refused: { readonly at: number; readonly bytes: number } | undefined
  readonly #logs = new Map<string, MemoryLog>()
  readonly #feed: LocalFeed
  readonly #signalHandlers = new Set<(signal: Signal) => void>()
  /** node → when its lease ends. */
  readonly #leases = new Map<string, number>()
  readonly #sweepTimer: NodeJS.Timeout
  /** Where the background sweep goes on from: it visits every log, a batch per tick. */
  #sweepCursor: Iterator<MemoryLog> | undefined
  #closed = false

  constructor(options: MemoryEngineOptions) {
    this.#retention = resolveRetention(options.retention, RETENTION_DEFAULTS, "memory engine")
    this.#now = options.now ?? Date.now
    this.#logger = options.logger ?? defaultLogger()
    this.#maxLogs = options.maxLogs ?? 100_000
    assertLimit(this.#maxLogs, "maxLogs")
    this.#maxBytes = options.maxBytes ?? 256 * 1024 * 1024
    assertLimit(this.#maxBytes, "maxBytes")
    this.#bound = `its bound of ${this.#maxBytes} bytes (maxBytes)`
    this.#noRoom = failureStreak(this.#logger, "error", {
      failed: `herald memory engine: ${this.#bound} is full: appends fail until retention, TTLs or deletes free some (raise maxBytes, or keep less: a lower retention); reads go on`,
      recovered: `herald memory engine: appends fit again under ${this.#bound}`,
    })
    this.#feed = new LocalFeed((error) =>
      this.#logger.error({ err: error }, "herald memory engine: a live-feed sink threw"),
    )
    this.#sweepTimer = setInterval(() => this.#sweep(SWEEP_BATCH), SWEEP_INTERVAL_MS)
    this.#sweepTimer.unref()
  }

  async create(log: string, config: LogConfig = {}): Promise<CreateResult> {
    this.#assertOpen()
    assertLogName(log)
    const checked = checkLogConfig(config, this.#retention)
    const existing = this.#live(log)
    if (existing !== undefined) {
      return {
        status: sameConfig(existing.config, checked.config) ? "exists" : "conflict",
        head: this.#headOf(existing),
      }
    }
    return { status: "created", head: this.#headOf(this.#add(log, checked)) }
  }

  async head(log: string): Promise<LogHead | undefined> {
    this.#assertOpen()
    assertLogName(log)
    const state = this.#live(log)
    if (state === undefined) return undefined
    return this.#headOf(state)
  }

  async delete(log: string): Promise<boolean> {
    this.#assertOpen()
    assertLogName(log)
    if (this.#live(log) === undefined) return false
    this.#remove(log)
    return true
  }

  /** Sorts the matching names on every call: O(n log n) in the logs held, fine for a dashboard. */
  async list(options: {
    readonly prefix?: string
    readonly after?: string
    readonly limit: number
  }): Promise<LogList> {
    this.#assertOpen()
    const { prefix = "", after, limit } = options
    assertString(prefix, "prefix")
    if (after !== undefined) assertString(after, "after")
    assertLimit(limit)
    // In UTF-8 byte order, as sqlite and Redis list (UTF-16 order differs past U+FFFF).
    const names = [...this.#logs.keys()]
      .filter((name) => name.startsWith(prefix) && (after === undefined || utf8Order(name, after) > 0))
      .sort(utf8Order)
    const logs: LogHead[] = []
    for (const name of names) {
      const state = this.#live(name)
      if (state === undefined) continue
      if (logs.length === limit) return { logs, next: (logs[logs.length - 1] as LogHead).name }
      logs.push(this.#headOf(state))
    }
    return { logs }
  }

  async append(log: string, batch: readonly NewEntry[], options: AppendOptions = {}): Promise<AppendResult> {
    this.#assertOpen()
    assertLogName(log)
    const entries = checkedNewEntries(batch)
    assertAppendOptions(options)
    const create = options.create === undefined ? undefined : checkLogConfig(options.create, this.#retention)
    let state = this.#live(log)
    // Only a producer the log does not know yet takes more room.
    const producerId = options.producer?.id
    const newProducer = producerId !== undefined && state?.producers.has(producerId) !== true
    this.#assertRoomFor(entries, newProducer ? producerId : undefined)
    if (state === undefined) {
      if (create === undefined) return { status: "missing" }
      state = this.#add(log, create)
    } else if (create !== undefined && !sameConfig(state.config, create.config)) {
      return { status: "conflict", head: this.#headOf(state) }
    } else if (options.epoch !== undefined && options.epoch !== state.epoch) {
      return { status: "missing" }
    }
    const now = this.#now()
    this.#trimByAge(state)
    const priorTail = () => formatPosition(state.epoch, state.entries.lastSeq)

    // Every check before anything changes: a refused append leaves the log as it was.
    const fence = options.fence
    if (fence !== undefined) {
      const allowed =
        "owner" in fence
          ? state.owner === fence.owner
          : state.owner === fence.from && !this.#holdsLease(fence.from)
      if (!allowed) return { status: "fenced", owner: state.owner }
    }
    const producer = options.producer
    const producerCheck =
      producer === undefined ? undefined : checkProducer(state.producers.get(producer.id), producer)
    if (producerCheck !== undefined && producerCheck.status !== "accepted") {
      if (producerCheck.status === "duplicate") {
        return {
          status: "duplicate",
          lastSeq: producerCheck.lastSeq,
          tail: priorTail(),
          closed: state.closed,
        }
      }
      return producerCheck
    }
    if (state.closed) {
      // A repeated bare close succeeds; entries after the close are refused.
      if (entries.length === 0 && options.close === true) {
        return {
          status: "appended",
          entries: [],
          tail: priorTail(),
          closed: true,
          stopRequested: state.stopRequested,
        }
      }
      return { status: "closed", tail: priorTail() }
    }
    const writerSeq = options.writerSeq
    if (writerSeq !== undefined && state.lastWriterSeq !== undefined && !(writerSeq > state.lastWriterSeq)) {
      return { status: "writer-seq-conflict", lastWriterSeq: state.lastWriterSeq }
    }

    // Only a write that passed every check moves a sliding TTL on, as on the other engines.
    state.touchedAt = now
    if (fence !== undefined && "takeOver" in fence) state.owner = fence.takeOver
    if (producer !== undefined && producerCheck?.status === "accepted") {
      if (!state.producers.has(producer.id)) {
        state.producerBytes += producerStateBytes(producer.id)
        this.#heldBytes += producerStateBytes(producer.id)
      }
      state.producers.set(producer.id, producerCheck.next)
    }
    if (writerSeq !== undefined) state.lastWriterSeq = writerSeq
    const stored: Entry[] = []
    const bytesBefore = state.entries.bytes
    for (const entry of entries) {
      const seq = state.entries.lastSeq + 1
      const position = formatPosition(state.epoch, seq)
      const storedEntry: Entry = { position, seq, data: entry.data, key: entry.key, time: now }
      state.entries.push(storedEntry)
      stored.push(storedEntry)
    }
    while (state.entries.size > state.retention.maxEntries) state.entries.dropOldest()
    this.#heldBytes += state.entries.bytes - bytesBefore
    if (stored.length > 0) this.#endNoRoom(true)
    const closing = options.close === true
    if (closing) state.closed = true
    this.#feed.deliver(log, stored, closing)
    const newest = stored[stored.length - 1]
    return {
      status: "appended",
      entries: stored,
      tail: newest === undefined ? priorTail() : newest.position,
      closed: state.closed,
      stopRequested: state.stopRequested,
    }
  }

  async read(log: string, after: Position, limit: number, options: ReadOptions = {}): Promise<ReadResult> {
    this.#assertOpen()
    assertLogName(log)
    assertString(after, "after")
    assertLimit(limit)
    assertReadOptions(options)
    const state = this.#live(log)
    if (state === undefined) return { held: false, after, reason: "missing" }
    if (options.touch !== false) state.touchedAt = this.#now()
    this.#trimByAge(state)
    const { entries } = state
    let afterSeq = entries.floorSeq
    if (after !== START) {
      const parsed = parsePosition(after)
      if (parsed === undefined) return { held: false, after, reason: "malformed" }
      if (parsed.epoch !== state.epoch) return { held: false, after, reason: "other-epoch" }
      if (parsed.seq > entries.lastSeq) return { held: false, after, reason: "ahead" }
      if (parsed.seq < entries.floorSeq) return { held: false, after, reason: "trimmed" }
      afterSeq = parsed.seq
    }
    const page = entries.after(afterSeq, limit, options.maxBytes)
    const more = afterSeq + page.length < entries.lastSeq
    return {
      held: true,
      after: formatPosition(state.epoch, afterSeq),
      entries: page,
      more,
      tail: formatPosition(state.epoch, entries.lastSeq),
      closed: state.closed && !more,
    }
  }

  async locate(log: string, key: string): Promise<Position | undefined> {
    this.#assertOpen()
    assertLogName(log)
    assertString(key, "key")
    const state = this.#live(log)
    if (state === undefined) return undefined
    this.#trimByAge(state)
    const seq = state.entries.seqOfKey(key)
    return seq === undefined ? undefined : formatPosition(state.epoch, seq)
  }

  async requestStop(log: string, options: StopOptions = {}): Promise<boolean> {
    this.#assertOpen()
    assertLogName(log)
    assertStopOptions(options)
    const state = this.#live(log)
    if (state === undefined) return false
    if (options.epoch !== undefined && options.epoch !== state.epoch) return false
    state.stopRequested = true
    return true
  }

  async watch(log: string, sink: FeedSink): Promise<() => void> {
    this.#assertOpen()
    assertLogName(log)
    return this.#feed.add(log, sink)
  }

  async signal(signal: Signal): Promise<void> {
    this.#assertOpen()
    assertString(signal.topic, "topic")
    assertString(signal.payload, "payload")
    // Asynchronously, as from another node: a handler never runs inside its sender's call.
    for (const handler of this.#signalHandlers) {
      queueMicrotask(() => {
        if (!this.#signalHandlers.has(handler)) return
        try {
          handler(signal)
        } catch (error) {
          this.#logger.error({ err: error }, "herald memory engine: a signal handler threw")
        }
      })
    }
  }

  onSignal(handler: (signal: Signal) => void): () => void {
    this.#assertOpen()
    // A wrapper makes each registration distinct, so one function registered twice hears twice.
    const registration = (signal: Signal) => handler(signal)
    this.#signalHandlers.add(registration)
    return () => {
      this.#signalHandlers.delete(registration)
    }
  }

  async holdLease(node: string, ttlMs: number): Promise<void> {
    this.#assertOpen()
    assertNodeName(node, "node")
    assertDuration(ttlMs, "ttlMs")
    this.#leases.set(node, this.#now() + ttlMs)
  }

  async releaseLease(node: string): Promise<void> {
    this.#assertOpen()
    assertNodeName(node, "node")
    this.#leases.delete(node)
  }

  async liveNodes(): Promise<readonly string[]> {
    this.#assertOpen()
    const live: string[] = []
    for (const node of [...this.#leases.keys()]) {
      if (this.#holdsLease(node)) live.push(node)
      else this.#leases.delete(node)
    }
    return live
  }

  /** In the process, so no round trip; `full` while appends are refused at `maxBytes`. */
  async health(): Promise<EngineHealth> {
    if (this.#closed) return { status: "down", reason: "the engine is closed" }
    this.#endNoRoom(false)
    if (this.#refused === undefined) return { status: "up", latencyMs: 0 }
    return {
      status: "full",
      latencyMs: 0,
      reason: `${this.#bound} is full: appends fail until retention, TTLs or deletes free some, or maxBytes is raised (herald serve's --memory-max-bytes); reads are served`,
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#sweepTimer)
    this.#feed.clear()
    this.#logs.clear()
    this.#signalHandlers.clear()
    this.#leases.clear()
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("memory engine: the engine is closed.")
  }

  #holdsLease(node: string): boolean {
    const until = this.#leases.get(node)
    return until !== undefined && until > this.#now()
  }

  /** The log, unless it does not exist or has expired (then it is removed now). */
  #live(log: string): MemoryLog | undefined {
    const state = this.#logs.get(log)
    if (state === undefined) return undefined
    if (!this.#expired(state)) return state
    this.#remove(log)
    return undefined
  }

  #add(log: string, checked: ReturnType<typeof checkLogConfig>): MemoryLog {
    if (this.#logs.size >= this.#maxLogs) {
      // Expired logs do not count: look for them before refusing (a full pass, only at the bound).
      for (const state of [...this.#logs.values()]) if (this.#expired(state)) this.#remove(state.name)
      if (this.#logs.size >= this.#maxLogs) {
        throw new TooManyLogsError(this.name, log, this.#maxLogs)
      }
    }
    const now = this.#now()
    const state: MemoryLog = {
      name: log,
      epoch: newEpoch(),
      config: checked.config,
      retention: checked.retention,
      createdAt: now,
      entries: new EntryRing(),
      touchedAt: now,
      closed: false,
      stopRequested: false,
      owner: checked.config.owner,
      producers: new Map(),
      producerBytes: 0,
      lastWriterSeq: undefined,
    }
    this.#logs.set(log, state)
    return state
  }

  /** Forgets a log; its watchers hear they lost the feed, and their next read says "missing". */
  #remove(log: string): void {
    const state = this.#logs.get(log)
    if (state !== undefined) this.#heldBytes -= state.entries.bytes + state.producerBytes
    this.#logs.delete(log)
    this.#feed.lost(log)
  }

  #expiresAt(state: MemoryLog): number | undefined {
    const { ttlMs, expiresAt } = state.config
    return ttlMs === undefined ? expiresAt : state.touchedAt + ttlMs
  }

  #expired(state: MemoryLog): boolean {
    const at = this.#expiresAt(state)
    return at !== undefined && this.#now() >= at
  }

  /** Drops entries older than the log's `maxAgeMs`: O(1) plus O(1) per entry dropped. */
  #trimByAge(state: MemoryLog): void {
    const { maxAgeMs } = state.retention
    if (maxAgeMs === Number.POSITIVE_INFINITY) return
    const cutoff = this.#now() - maxAgeMs
    const bytesBefore = state.entries.bytes
    for (let oldest = state.entries.oldest(); oldest !== undefined && oldest.time < cutoff; ) {
      state.entries.dropOldest()
      oldest = state.entries.oldest()
    }
    this.#heldBytes += state.entries.bytes - bytesBefore
  }

  /**
   * Refuses `entries` (and the state of `producer`, a new one) when they would take the engine
   * past `maxBytes`, once what has expired or aged is gone.
   */
  #assertRoomFor(entries: readonly NewEntry[], producer: string | undefined): void {
    let incoming = producer === undefined ? 0 : producerStateBytes(producer)
    for (const entry of entries) incoming += entryBytes(entry.data, entry.key)
    if (this.#heldBytes + incoming <= this.#maxBytes) return
    if (incoming > this.#maxBytes) {
      // Only a larger bound makes room for it, so it is refused as lastingly as at a full store
      // (507: the server cannot store it), but the store is not full: other appends fit.
      throw new StorageFullError(
        this.name,
        this.#bound,
        `${RAISE_MAX_BYTES} past this append's ${incoming} bytes`,
      )
    }
    // Only at the bound, and at most once per sweep interval however many appends are refused: a
    // full pass over the logs (the sweep would get there within a while).
    const now = this.#now()
    if (now - this.#fullPassAt >= SWEEP_INTERVAL_MS) {
      this.#fullPassAt = now
      for (const state of [...this.#logs.values()]) {
        if (this.#expired(state)) this.#remove(state.name)
        else this.#trimByAge(state)
      }
    }
    if (this.#heldBytes + incoming <= this.#maxBytes) return
    const refusal = new StorageFullError(this.name, this.#bound, RAISE_MAX_BYTES)
    this.#noRoom.failed(refusal.message)
    this.#refused = { at: now, bytes: incoming }
    throw refusal
  }

  /**
   * Ends the full state once appends fit again, {@link NO_ROOM_HOLD_MS} after the last refusal:
   * an append was stored, or there is room for the one refused.
   */
  #endNoRoom(appended: boolean): void {
    const refused = this.#refused
    if (refused === undefined || this.#now() - refused.at < NO_ROOM_HOLD_MS) return
    if (!appended && this.#heldBytes + refused.bytes > this.#maxBytes) return
    this.#refused = undefined
    this.#noRoom.succeeded()
  }

  /** Visits up to `count` logs where the last sweep stopped: removes the expired, ages the rest. */
  #sweep(count: number): void {
    for (let visited = 0; visited < count && visited < this.#logs.size; visited++) {
      this.#sweepCursor ??= this.#logs.values()
      const next = this.#sweepCursor.next()
      if (next.done === true) {
        this.#sweepCursor = undefined
        continue
      }
      const state = next.value
      if (this.#expired(state)) this.#remove(state.name)
      else this.#trimByAge(state)
    }
    // Room made by the sweep is told without waiting for an append or a health probe.
    this.#endNoRoom(false)
  }

  #headOf(state: MemoryLog): LogHead {
    // The floor must read as held: what aged out since the last write goes first.
    this.#trimByAge(state)
    const { entries } = state
    return {
      name: state.name,
      epoch: state.epoch,
      tail: formatPosition(state.epoch, entries.lastSeq),
      floor: formatPosition(state.epoch, entries.floorSeq),
      closed: state.closed,
      stopRequested: state.stopRequested,
      createdAt: state.createdAt,
      expiresAt: this.#expiresAt(state),
      config: withOwner(state.config, state.owner),
    }
  }
}

/**
 * Compares two well-formed strings in UTF-8 byte order, which is code point order, without
 * encoding them: UTF-16 order differs from it only where a surrogate (of a character past U+FFFF)
 * meets a unit of U+E000–U+FFFF.
 */
function utf8Order(a: string, b: string): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    const xSurrogate = x >= 0xd800 && x <= 0xdfff
    const ySurrogate = y >= 0xd800 && y <= 0xdfff
    if (xSurrogate !== ySurrogate && (x >= 0xe000 || y >= 0xe000)) return xSurrogate ? 1 : -1
    return x - y
  }
  return a.length - b.length
}
