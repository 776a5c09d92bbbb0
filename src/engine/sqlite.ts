import { mkdirSync } from "node:fs"
import { dirname, resolve } from "node:path"
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
  takesEntry,
} from "./checks.js"
import { checkLogConfig, parseStoredConfig, withOwner } from "./config.js"
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
import { GroupCommit, type Outcome } from "./group-commit.js"
import type { EngineHealth, HealthCapability } from "./health.js"
import { LocalFeed } from "./local-feed.js"
import { formatPosition, newEpoch, type Position, parsePosition, START } from "./position.js"
import { checkProducer, type ProducerState } from "./producer.js"
import { type ResolvedRetention, resolveRetention } from "./retention.js"
import {
  type Checkpointer,
  type CheckpointPolicy,
  createCheckpointer,
  resolveCheckpointPolicy,
} from "./sqlite-checkpointer.js"
import { encodeConfig } from "./sqlite-config.js"
import type { Database, Statement } from "./sqlite-driver.js"
import { fullOr, openHeraldFile } from "./sqlite-file.js"
import { type DatabaseLock, lockDatabaseFile } from "./sqlite-lock.js"
import { type SqliteMigrations, setUpSchema } from "./sqlite-schema.js"
import { Stage } from "./sqlite-stage.js"
import { type EntryRow, type LogRow, prepareStatements } from "./sqlite-statements.js"
import { StorageFullError } from "./storage-full.js"
import { TooManyLogsError } from "./too-many-logs.js"

/** Options for {@link createSqliteEngine}. */
export interface SqliteEngineOptions {
  /** The database file; its directory is created if missing. `":memory:"` for a throwaway one. */
  readonly path: string
  /** Each log's retention unless its config says otherwise. Default {@link SQLITE_RETENTION_DEFAULTS}. */
  readonly retention?: Retention
  /**
   * `"normal"` (default): in WAL mode, an acknowledged append survives a crash or `kill -9` of
   * the process, but the last few may be lost on power loss or an OS crash. `"full"`: every
   * commit is fsynced, so acknowledged appends survive power loss too, at a cost per append.
   */
  readonly synchronous?: "normal" | "full"
  /** The clock stamping entries, ageing them out and expiring logs (ms since the epoch). Default `Date.now`. */
  readonly now?: () => number
  /**
   * Receives what a feed sink or signal handler throws, failed maintenance and checkpoints, and
   * a full disk (once when writes start failing for it, once when they work again). Default:
   * {@link defaultLogger}.
   */
  readonly logger?: Logger
  /**
   * When the WAL is copied back into the database file, by a worker thread on its own
   * connection (commits never checkpoint). Default: `SQLITE_CHECKPOINT_DEFAULTS`.
   */
  readonly checkpoint?: Partial<CheckpointPolicy>
  /** Most logs held at once; creating one more throws a `TooManyLogsError`. Default 100 000. */
  readonly maxLogs?: number
  /** Converts a file of an older schema in place; without it such a file is refused. */
  readonly migrate?: SqliteMigrations
}

/** Each log's retention when neither the engine nor the log says: 1 000 000 entries, 30 days. */
export const SQLITE_RETENTION_DEFAULTS: ResolvedRetention = {
  maxEntries: 1_000_000,
  maxAgeMs: 30 * 24 * 60 * 60 * 1000,
}

const DEFAULT_MAX_LOGS = 100_000
/** Most entry rows one maintenance step deletes, so a large backlog never holds the writer for long. */
const TRIM_BATCH = 10_000
/** Most expired logs one maintenance step drops. */
const EXPIRY_BATCH = 100
/** How often expired logs are swept and sliding TTLs written down. */
const SWEEP_EVERY_MS = 1000
/** Logs whose age retention one step of the age walk checks. */
const AGE_WALK_PAGE = 500
/**
 * How long after a write found the disk full the engine still says so, whatever succeeds: a
 * small write fits where a large one did not (in WAL space the failed commit took), and the
 * state would flap with every publish.
 */
const NO_ROOM_HOLD_MS = 30_000

/**
 * The embedded durable engine: better-sqlite3 in WAL mode, many logs in one file. An append
 * resolves once committed, so an acknowledged entry survives a crash of the process; reopening
 * the file keeps every log, epoch, position and producer state. One process per file, enforced
 * by a lock file beside it (sqlite-lock.ts); appends arriving together share a transaction
 * (group-commit.ts); the WAL is checkpointed off the event loop (sqlite-checkpointer.ts). A write
 * that finds the disk full rejects with a `StorageFullError`, and `health()` reports `full` until
 * a write succeeds again.
 */
export function createSqliteEngine(options: SqliteEngineOptions): Engine & HealthCapability {
  return new SqliteEngine(options)
}

/**
 * One incarnation of a log as the engine knows it: its row, parsed. The process owns the file,
 * so this cache is authoritative; write transactions replace states (never mutate them) and
 * install them once committed (sqlite-stage.ts).
 */
interface LogState {
  readonly id: number
  readonly name: string
  readonly epoch: string
  readonly tail: number
  /** Entries at or below this seq are deleted from the file (the `floor` column). */
  readonly deleted: number
  readonly closed: boolean
  readonly stop: boolean
  readonly writerSeq: string | undefined
  /** As created: a takeover changes `owner`, not this (create() compares it, as on every engine). */
  readonly config: LogConfig
  readonly configJson: string
  /** Who writes the log now: the config's owner until a takeover. */
  readonly owner: string | undefined
  readonly createdAt: number
  readonly retention: ResolvedRetention
  /** A trim is due once this many entries past retention are still in the file. */
  readonly trimEvery: number
  readonly hints: LogHints
}

/**
 * What reads learn or change of a log without a write transaction, shared by every copy of one
 * incarnation's state. Each stays true whatever a rollback undoes: entries appended later are
 * never older than the ones held.
 */
interface LogHints {
  /** When the log disappears unless touched again (a sliding TTL moves it on every touch). */
  expiresAt: number | undefined
  /** Entries at or below this seq are known to be past the age bound. */
  agedThrough: number
  /** An entry known held and the time it was appended (0: none known): is it still fresh? */
  freshSeq: number
  freshTime: number
}

/**
 * A write, run inside a group's transaction; `time` is the group's clock. It changes nothing
 * but the database and its stage, so that it can run again when its group is retried.
 */
type Write = (stage: Stage<LogState>, time: number) => unknown

/** Runs a group of writes in one transaction, and answers each one's outcome. */
type GroupTransaction = (writes: readonly Write[], group: Stage<LogState>, time: number) => Outcome<unknown>[]

class SqliteEngine implements Engine, HealthCapability {
  readonly name = "sqlite"
  readonly #path: string
  readonly #retention: ResolvedRetention
  readonly #now: () => number
  readonly #logger: Logger
  readonly #maxLogs: number
  readonly #feed: LocalFeed
  readonly #signalHandlers = new Set<(signal: Signal) => void>()
  readonly #db: Database
  readonly #lock: DatabaseLock | undefined
  readonly #checkpointer: Checkpointer | undefined
  readonly #commits: GroupCommit<Write, unknown>
  /** Runs a group's writes in one transaction; the first that throws rolls it all back. */
  readonly #transaction: GroupTransaction
  /** Runs a group's writes in one transaction, each in a savepoint of its own. */
  readonly #isolatedTransaction: GroupTransaction
  readonly #savepoint: (write: Write, stage: Stage<LogState>, time: number) => unknown
  readonly #sql: ReturnType<typeof prepareStatements>
  /** Every log loaded so far, by name (never a missing one). */
  readonly #cache = new Map<string, LogState>()
  #logCount: number
  /** Logs whose sliding expiry moved since it was last written down, by id. */
  readonly #touched = new Map<number, LogState>()
  /** Logs with entries past retention still in the file, by name. */
  readonly #trimDue = new Set<string>()
  #maintenanceQueued = false
  readonly #sweepTimer: NodeJS.Timeout
  readonly #ageTimer: NodeJS.Timeout
  /** Where the age walk goes on: the id of the last log it checked. */
  #ageWalkAfter = 0
  #ageWalkScheduled: NodeJS.Immediate | undefined
  #closed = false
  /** Writes failing for want of room: logged once when they start, once when they work again. */
  readonly #noRoom: FailureStreak
  /** When a write last found no room (the engine's clock). */
  #noRoomAt = 0
  /** `total_changes()` then: more since means writes have been committed since. */
  #changesAtNoRoom = 0
  readonly #totalChanges: Statement
  /** What health() reads: the header, from the file (or the page cache). */
  readonly #probe: Statement

  constructor(options: SqliteEngineOptions) {
    if (
      options === null ||
      typeof options !== "object" ||
      typeof options.path !== "string" ||
      options.path === ""
    ) {
      throw new TypeError("sqlite engine: options.path must be the path of the database file.")
    }
    const synchronous = options.synchronous ?? "normal"
    if (synchronous !== "normal" && synchronous !== "full") {
      throw new RangeError(
        `sqlite engine: synchronous must be "normal" or "full"; got ${String(synchronous)}.`,
      )
    }
    this.#retention = resolveRetention(options.retention, SQLITE_RETENTION_DEFAULTS, "sqlite engine")
    this.#maxLogs = options.maxLogs ?? DEFAULT_MAX_LOGS
    if (!Number.isSafeInteger(this.#maxLogs) || this.#maxLogs < 1) {
      throw new RangeError(
        `sqlite engine: maxLogs must be a positive integer; got ${String(options.maxLogs)}.`,
      )
    }
    if (options.migrate?.v1 !== undefined) assertLogName(options.migrate.v1.log)
    this.#now = options.now ?? Date.now
    const logger = options.logger ?? defaultLogger()
    this.#logger = logger
    this.#feed = new LocalFeed((error) =>
      logger.error({ err: error }, "herald sqlite engine: a live-feed sink threw"),
    )
    const checkpoint = resolveCheckpointPolicy(options.checkpoint)
    const path = options.path
    this.#path = path
    this.#noRoom = failureStreak(logger, "error", {
      failed: `herald sqlite engine: the disk holding ${path} is full: writes fail until it has room again (free space on it, or keep less: a lower retention); reads go on`,
      recovered: `herald sqlite engine: writes work again: the disk holding ${path} has room`,
    })
    const inMemory = path === ":memory:"
    if (!inMemory) mkdirSync(dirname(resolve(path)), { recursive: true })
    // The lock first: a refused second process must not touch the file at all.
    this.#lock = inMemory ? undefined : lockDatabaseFile(path)
    try {
      this.#db = openHeraldFile(path, {
        synchronous,
        walLimitBytes: checkpoint.walLimitBytes,
        setUp: (db, version) => setUpSchema(db, version, path, options.migrate, this.#now),
      })
    } catch (error) {
      this.#lock?.release()
      throw error
    }
    const db = this.#db
    this.#sql = prepareStatements(db)
    this.#totalChanges = db.prepare("SELECT total_changes()").raw(true)
    this.#probe = db.prepare("PRAGMA user_version").raw(true)
    this.#logCount = (db.prepare("SELECT count(*) AS n FROM logs").get() as { n: number }).n
    this.#savepoint = db.transaction((write: Write, stage: Stage<LogState>, time: number) =>
      write(stage, time),
    )
    this.#transaction = db.transaction((writes: readonly Write[], group: Stage<LogState>, time: number) => {
      const outcomes = writes.map((write): Outcome<unknown> => ({ ok: true, value: write(group, time) }))
      this.#writeLogRows(group)
      return outcomes
    })
    this.#isolatedTransaction = db.transaction(
      (writes: readonly Write[], group: Stage<LogState>, time: number) => {
        const outcomes = writes.map((write): Outcome<unknown> => {
          const stage = group.child()
          try {
            const value = this.#savepoint(write, stage, time)
            stage.merge()
            return { ok: true, value }
          } catch (error) {
            // SQLite may roll the whole transaction back (it does on SQLITE_FULL): then nothing
            // of the group can commit, and every write of it fails with this error.
            if (!db.inTransaction) throw error
            return { ok: false, error }
          }
        })
        this.#writeLogRows(group)
        return outcomes
      },
    )
    this.#commits = new GroupCommit((writes) => this.#commitGroup(writes))
    this.#checkpointer = inMemory ? undefined : createCheckpointer(path, checkpoint, logger)
    this.#sweepTimer = setInterval(() => this.#queueMaintenance(), SWEEP_EVERY_MS)
    this.#sweepTimer.unref()
    const ageEvery = Math.min(60_000, Math.max(1000, Math.floor(this.#retention.maxAgeMs / 10)))
    this.#ageTimer = setInterval(() => this.#walkAges(), ageEvery)
    this.#ageTimer.unref()
    // Leftovers of a previous run (entries of dropped logs, entries past smaller limits now).
    this.#queueMaintenance()
    this.#walkAges()
  }

  async create(log: string, config: LogConfig = {}): Promise<CreateResult> {
    this.#assertOpen()
    assertLogName(log)
    const configJson = encodeConfig(checkLogConfig(config, this.#retention).config)
    return this.#write((stage, time): CreateResult => {
      const existing = this.#liveIn(stage, log, time)
      if (existing !== undefined) {
        const status = existing.configJson === configJson ? "exists" : "conflict"
        return { status, head: this.#headOf(existing, time) }
      }
      return { status: "created", head: this.#headOf(this.#createIn(stage, log, configJson, time), time) }
    })
  }

  async head(log: string): Promise<LogHead | undefined> {
    this.#assertOpen()
    assertLogName(log)
    const now = this.#now()
    const state = this.#live(log, now)
    if (state === undefined) return undefined
    return this.#headOf(state, now)
  }

  async delete(log: string): Promise<boolean> {
    this.#assertOpen()
    assertLogName(log)
    return this.#write((stage, time) => {
      const state = this.#liveIn(stage, log, time)
      if (state === undefined) return false
      this.#drop(stage, state)
      return true
    })
  }

  async list(options: {
    readonly prefix?: string
    readonly after?: string
    readonly limit: number
  }): Promise<LogList> {
    this.#assertOpen()
    const { prefix = "", after = "", limit } = options ?? {}
    assertString(prefix, "prefix")
    assertString(after, "after")
    assertLimit(limit)
    const now = this.#now()
    const found: LogState[] = []
    // Names with the prefix sort together, from the prefix on: scan from there until a name
    // without it. One more than the page is found to tell whether another page follows.
    let rows =
      after !== "" && after >= prefix
        ? (this.#sql.listAfter.all(after, limit + 1) as LogRow[])
        : (this.#sql.listFrom.all(prefix, limit + 1) as LogRow[])
    scan: while (rows.length > 0) {
      for (const row of rows) {
        if (!row[1].startsWith(prefix)) break scan
        const state = this.#cached(row)
        if (this.#expired(state, now)) this.#queueMaintenance()
        else found.push(state)
        if (found.length > limit) break scan
      }
      if (rows.length <= limit) break
      rows = this.#sql.listAfter.all((rows[rows.length - 1] as LogRow)[1], limit + 1) as LogRow[]
    }
    const page = found.slice(0, limit)
    const logs = page.map((state) => this.#headOf(state, now))
    return found.length > limit ? { logs, next: (page[page.length - 1] as LogState).name } : { logs }
  }

  async append(log: string, batch: readonly NewEntry[], options: AppendOptions = {}): Promise<AppendResult> {
    this.#assertOpen()
    assertLogName(log)
    const entries = checkedNewEntries(batch)
    assertAppendOptions(options)
    const { create, close = false, producer, writerSeq, fence } = options
    const createJson =
      create === undefined ? undefined : encodeConfig(checkLogConfig(create, this.#retention).config)
    return this.#write((stage, time): AppendResult => {
      let state = this.#liveIn(stage, log, time)
      if (state === undefined) {
        if (createJson === undefined) return { status: "missing" }
        state = this.#createIn(stage, log, createJson, time)
      } else if (createJson !== undefined && createJson !== state.configJson) {
        return { status: "conflict", head: this.#headOf(state, time) }
      } else if (options.epoch !== undefined && options.epoch !== state.epoch) {
        return { status: "missing" }
      }
      const { owner } = state
      let takeOver: string | undefined
      if (fence !== undefined) {
        if ("owner" in fence) {
          if (owner !== fence.owner) return { status: "fenced", owner }
        } else {
          if (owner !== fence.from || this.#holdsLease(fence.from, time)) return { status: "fenced", owner }
          takeOver = fence.takeOver
        }
      }
      let producerNext: ProducerState | undefined
      if (producer !== undefined) {
        const stored = this.#sql.producer.get(state.id, producer.id) as ProducerState | undefined
        const check = checkProducer(stored, producer)
        if (check.status === "duplicate") {
          const tail = formatPosition(state.epoch, state.tail)
          return { status: "duplicate", lastSeq: check.lastSeq, tail, closed: state.closed }
        }
        if (check.status !== "accepted") return check
        producerNext = check.next
      }
      if (state.closed) {
        // A repeated close succeeds; anything else is refused.
        if (entries.length === 0 && close) return this.#appended(state, [])
        return { status: "closed", tail: formatPosition(state.epoch, state.tail) }
      }
      if (writerSeq !== undefined && state.writerSeq !== undefined && writerSeq <= state.writerSeq) {
        return { status: "writer-seq-conflict", lastWriterSeq: state.writerSeq }
      }
      const stored: Entry[] = []
      let seq = state.tail
      for (const { data, key } of entries) {
        seq++
        this.#sql.insertEntry.run(state.id, seq, data, key ?? null, time)
        stored.push({ position: formatPosition(state.epoch, seq), seq, data, key, time })
      }
      const ttlMs = state.config.ttlMs
      if (ttlMs !== undefined) state.hints.expiresAt = time + ttlMs
      let next: LogState = { ...state, tail: seq, closed: close, writerSeq: writerSeq ?? state.writerSeq }
      stage.markDirty(log)
      if (takeOver !== undefined) {
        next = { ...next, owner: takeOver }
        this.#sql.setOwner.run(takeOver, state.id)
      }
      if (producerNext !== undefined) {
        this.#sql.putProducer.run(
          state.id,
          (producer as { id: string }).id,
          producerNext.epoch,
          producerNext.seq,
        )
      }
      stage.set(log, next)
      stage.after(() => {
        this.#feed.deliver(log, stored, close)
        if (this.#floor(next, time) - next.deleted >= next.trimEvery) this.#dueForTrim(log)
      })
      return this.#appended(next, stored)
    })
  }

  async read(log: string, after: Position, limit: number, options: ReadOptions = {}): Promise<ReadResult> {
    this.#assertOpen()
    assertLogName(log)
    assertString(after, "after")
    assertLimit(limit)
    assertReadOptions(options)
    const now = this.#now()
    const state = this.#live(log, now)
    if (state === undefined) return { held: false, after, reason: "missing" }
    if (options.touch !== false) this.#touch(state, now)
    const floor = this.#floor(state, now)
    let afterSeq = floor
    if (after !== START) {
      const position = parsePosition(after)
      if (position === undefined) return { held: false, after, reason: "malformed" }
      if (position.epoch !== state.epoch) return { held: false, after, reason: "other-epoch" }
      if (position.seq > state.tail) return { held: false, after, reason: "ahead" }
      if (position.seq < floor) return { held: false, after, reason: "trimmed" }
      afterSeq = position.seq
    }
    const rows =
      options.maxBytes === undefined
        ? (this.#sql.entriesAfter.all(state.id, afterSeq, limit) as EntryRow[])
        : this.#rowsWithin(state.id, afterSeq, limit, options.maxBytes)
    // Whether others follow, from the tail: a row more than asked for may be a large one.
    const more = (rows[rows.length - 1]?.[0] ?? afterSeq) < state.tail
    const { epoch } = state
    const entries = rows.map(
      ([seq, data, key, time]): Entry => ({
        position: formatPosition(epoch, seq),
        seq,
        data,
        key: key ?? undefined,
        time,
      }),
    )
    return {
      held: true,
      after: formatPosition(epoch, afterSeq),
      entries,
      more,
      tail: formatPosition(epoch, state.tail),
      closed: state.closed && !more,
    }
  }

  /**
   * Up to `limit` entries of the log `id` after `seq`, as a read bounded by `maxBytes` takes them
   * ({@link takesEntry}): stepped one row at a time, so that of the rows past the bound only the
   * one that ends the read is loaded.
   */
  #rowsWithin(id: number, seq: number, limit: number, maxBytes: number): EntryRow[] {
    const rows: EntryRow[] = []
    let bytes = 0
    for (const row of this.#sql.entriesAfter.iterate(id, seq, limit) as IterableIterator<EntryRow>) {
      if (!takesEntry(rows.length, bytes, row[1].length, maxBytes)) break
      rows.push(row)
      bytes += row[1].length
      if (bytes >= maxBytes) break
    }
    return rows
  }

  async locate(log: string, key: string): Promise<Position | undefined> {
    this.#assertOpen()
    assertLogName(log)
    assertString(key, "key")
    const now = this.#now()
    const state = this.#live(log, now)
    if (state === undefined) return undefined
    const row = this.#sql.locate.get(state.id, key, this.#floor(state, now)) as [number] | undefined
    return row === undefined ? undefined : formatPosition(state.epoch, row[0])
  }

  async requestStop(log: string, options: StopOptions = {}): Promise<boolean> {
    this.#assertOpen()
    assertLogName(log)
    assertStopOptions(options)
    const { epoch } = options
    return this.#write((stage, time) => {
      const state = this.#liveIn(stage, log, time)
      if (state === undefined) return false
      if (epoch !== undefined && epoch !== state.epoch) return false
      this.#sql.setStop.run(state.id)
      stage.set(log, { ...state, stop: true })
      return true
    })
  }

  async watch(log: string, sink: FeedSink): Promise<() => void> {
    this.#assertOpen()
    assertLogName(log)
    if (typeof sink?.onAppend !== "function" || typeof sink.onLost !== "function") {
      throw new TypeError("watch(): `sink` needs onAppend and onLost functions.")
    }
    // Appends reach the feed synchronously once committed: the feed is active at once.
    return this.#feed.add(log, sink)
  }

  async signal(signal: Signal): Promise<void> {
    this.#assertOpen()
    if (typeof signal?.topic !== "string" || typeof signal.payload !== "string") {
      throw new TypeError("signal(): a signal needs a string `topic` and a string `payload`.")
    }
    const { topic, payload } = signal
    // One process per file: every node is this one. Delivered later, as another node's would be.
    for (const handler of this.#signalHandlers) {
      queueMicrotask(() => {
        if (!this.#signalHandlers.has(handler)) return
        try {
          handler({ topic, payload })
        } catch (error) {
          this.#logger.error({ err: error }, "herald sqlite engine: a signal handler threw")
        }
      })
    }
  }

  onSignal(handler: (signal: Signal) => void): () => void {
    this.#assertOpen()
    if (typeof handler !== "function") throw new TypeError("onSignal() takes a function.")
    // A wrapper makes each registration distinct, so one handler registered twice stays twice.
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
    await this.#write((_stage, time) => this.#sql.putLease.run(node, time + ttlMs))
  }

  async releaseLease(node: string): Promise<void> {
    this.#assertOpen()
    assertNodeName(node, "node")
    await this.#write(() => this.#sql.deleteLease.run(node))
  }

  async liveNodes(): Promise<readonly string[]> {
    this.#assertOpen()
    return (this.#sql.liveNodes.all(this.#now()) as [string][]).map(([node]) => node)
  }

  /**
   * One read of the file's header: its time, or why it failed. `full` from a write that found
   * the disk full until one succeeds again, 30 s or more after the last that did not (the node
   * lease renews every few seconds in `herald serve`): reads are still served meanwhile.
   */
  async health(): Promise<EngineHealth> {
    if (this.#closed) return { status: "down", reason: "the engine is closed" }
    const started = performance.now()
    try {
      this.#probe.get()
    } catch (error) {
      return { status: "down", reason: (error as Error).message }
    }
    const latencyMs = performance.now() - started
    if (!this.#noRoom.failing) return { status: "up", latencyMs }
    return {
      status: "full",
      latencyMs,
      reason: `the disk holding ${this.#path} is full: writes fail until it has room again (free space on it, or keep less: a lower retention); reads are served`,
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#sweepTimer)
    clearInterval(this.#ageTimer)
    if (this.#ageWalkScheduled !== undefined) clearImmediate(this.#ageWalkScheduled)
    // Sliding expiries moved by reads are written down with the last group.
    if (this.#touched.size > 0) {
      this.#write((stage) => this.#writeTouched(stage)).catch((error: unknown) =>
        this.#logger.error({ err: error }, "herald sqlite engine: writing sliding expiries down failed"),
      )
    }
    this.#commits.flush()
    this.#feed.clear()
    this.#signalHandlers.clear()
    await this.#checkpointer?.stop()
    this.#db.close()
    this.#lock?.release()
  }

  /** Queues `write` for the next group commit; resolves with what it returned, once committed. */
  #write<Result>(write: (stage: Stage<LogState>, time: number) => Result): Promise<Result> {
    return this.#commits.submit(write) as Promise<Result>
  }

  /**
   * Commits a group of writes in one transaction; then, and only then, the cache and the live
   * feed learn of them, in commit order.
   */
  #commitGroup(writes: readonly Write[]): Outcome<unknown>[] {
    const time = this.#now()
    let group = new Stage<LogState>((name) => this.#committed(name))
    let outcomes: Outcome<unknown>[]
    try {
      outcomes = this.#transaction(writes, group, time)
    } catch {
      // A write threw (rarely: the bound on logs, a full disk): the whole group was rolled back. Again,
      // each write in a savepoint, so that only the writes that throw fail. Savepoints for every
      // group would cost two more statements per write.
      group = new Stage<LogState>((name) => this.#committed(name))
      try {
        outcomes = this.#isolatedTransaction(writes, group, time).map((outcome) =>
          outcome.ok ? outcome : { ok: false, error: this.#noRoomOr(outcome.error) },
        )
      } catch (error) {
        // The commit itself failed: in WAL mode a full disk fails the commit, not the statements.
        throw this.#noRoomOr(error)
      }
    }
    // Writes committed since the last that found the disk full, 30 s ago or more: there is room again.
    if (
      this.#noRoom.failing &&
      time - this.#noRoomAt >= NO_ROOM_HOLD_MS &&
      (this.#totalChanges.get() as [number])[0] > this.#changesAtNoRoom
    ) {
      this.#noRoom.succeeded()
    }
    const { states, effects, logDelta } = group.outcome()
    for (const [name, state] of states) {
      if (state === undefined) this.#cache.delete(name)
      else this.#cache.set(name, state)
    }
    this.#logCount += logDelta
    for (const effect of effects) effect()
    const checkpointing = this.#checkpointer?.afterCommit()
    if (checkpointing !== undefined) this.#commits.pause(checkpointing)
    return outcomes
  }

  /** `error` as callers get it: a {@link StorageFullError} when SQLite found no room (noted for health()). */
  #noRoomOr(error: unknown): unknown {
    const refusal = fullOr(error, this.#path)
    if (refusal instanceof StorageFullError) {
      this.#noRoom.failed((error as Error).message)
      this.#noRoomAt = this.#now()
      this.#changesAtNoRoom = (this.#totalChanges.get() as [number])[0]
    }
    return refusal
  }

  /** Each log a group appended to gets its row written once, as the group leaves it. */
  #writeLogRows(group: Stage<LogState>): void {
    for (const name of group.dirty()) {
      const state = group.get(name)
      if (state === undefined) continue
      const { tail, closed, writerSeq, hints } = state
      this.#sql.updateLog.run(tail, closed ? 1 : 0, writerSeq ?? null, hints.expiresAt ?? null, state.id)
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("sqlite engine: the engine is closed.")
  }

  /** The committed state of `log` (loaded into the cache on first use), expired or not. */
  #committed(log: string): LogState | undefined {
    const cached = this.#cache.get(log)
    if (cached !== undefined) return cached
    const row = this.#sql.logByName.get(log) as LogRow | undefined
    return row === undefined ? undefined : this.#cached(row)
  }

  /** The cached state of the log of `row`, hydrated and cached if it was not. */
  #cached(row: LogRow): LogState {
    const cached = this.#cache.get(row[1])
    if (cached !== undefined) return cached
    const state = hydrate(row, this.#retention)
    this.#cache.set(state.name, state)
    return state
  }

  /** The committed state of `log` unless it is missing or expired (then it is swept soon). */
  #live(log: string, now: number): LogState | undefined {
    const state = this.#committed(log)
    if (state === undefined) return undefined
    if (!this.#expired(state, now)) return state
    this.#queueMaintenance()
    return undefined
  }

  /** The state of `log` in a write, unless it is missing; an expired log is dropped first. */
  #liveIn(stage: Stage<LogState>, log: string, time: number): LogState | undefined {
    const state = stage.get(log)
    if (state === undefined || !this.#expired(state, time)) return state
    this.#drop(stage, state)
    return undefined
  }

  #expired(state: LogState, now: number): boolean {
    const { expiresAt } = state.hints
    return expiresAt !== undefined && expiresAt <= now
  }

  /** A sliding TTL starts again: the new expiry is written down by the next maintenance. */
  #touch(state: LogState, now: number): void {
    const { ttlMs } = state.config
    if (ttlMs === undefined) return
    state.hints.expiresAt = now + ttlMs
    this.#touched.set(state.id, state)
  }

  #createIn(stage: Stage<LogState>, log: string, configJson: string, time: number): LogState {
    if (this.#logCount + stage.logDelta >= this.#maxLogs) {
      // Expired logs do not count: drop those not yet swept before refusing (only at the bound).
      this.#dropExpired(stage, time)
    }
    if (this.#logCount + stage.logDelta >= this.#maxLogs) {
      throw new TooManyLogsError(this.name, log, this.#maxLogs)
    }
    const config = parseStoredConfig(configJson)
    const expiresAt = config.expiresAt ?? (config.ttlMs === undefined ? undefined : time + config.ttlMs)
    const epoch = newEpoch()
    const { lastInsertRowid } = this.#sql.insertLog.run(
      log,
      epoch,
      config.owner ?? null,
      configJson,
      time,
      expiresAt ?? null,
      config.ttlMs ?? null,
    )
    const row: LogRow = [
      Number(lastInsertRowid),
      log,
      epoch,
      0,
      0,
      0,
      0,
      null,
      configJson,
      time,
      expiresAt ?? null,
      config.owner ?? null,
    ]
    const state = hydrate(row, this.#retention)
    stage.set(log, state)
    stage.countLogs(1)
    return state
  }

  /** Deletes a log for readers at once; its entries go in bounded batches (maintenance). */
  #drop(stage: Stage<LogState>, state: LogState): void {
    this.#sql.deleteLog.run(state.id)
    this.#sql.deleteProducers.run(state.id)
    this.#sql.insertDropped.run(state.id)
    stage.set(state.name, undefined)
    stage.countLogs(-1)
    stage.after(() => {
      this.#touched.delete(state.id)
      this.#feed.lost(state.name)
      this.#queueMaintenance()
    })
  }

  #appended(state: LogState, entries: readonly Entry[]): AppendResult {
    return {
      status: "appended",
      entries,
      tail: formatPosition(state.epoch, state.tail),
      closed: state.closed,
      stopRequested: state.stop,
    }
  }

  #headOf(state: LogState, now: number): LogHead {
    return {
      name: state.name,
      epoch: state.epoch,
      tail: formatPosition(state.epoch, state.tail),
      floor: formatPosition(state.epoch, this.#floor(state, now)),
      closed: state.closed,
      stopRequested: state.stop,
      createdAt: state.createdAt,
      expiresAt: state.hints.expiresAt,
      config: withOwner(state.config, state.owner),
    }
  }

  #holdsLease(node: string, now: number): boolean {
    const row = this.#sql.lease.get(node) as [number] | undefined
    return row !== undefined && row[0] > now
  }

  /**
   * The seq before the oldest entry retention still allows. Reads answer by it even before
   * maintenance has deleted the entries at or below it, so the limits are exact for a reader.
   */
  #floor(state: LogState, now: number): number {
    const { retention, hints } = state
    const byCount = Math.max(state.deleted, state.tail - retention.maxEntries)
    if (retention.maxAgeMs === Number.POSITIVE_INFINITY) return byCount
    const floor = Math.max(byCount, hints.agedThrough)
    if (floor >= state.tail) return state.tail
    const cutoff = now - retention.maxAgeMs
    // Entries are appended in time order: if a fresh one is known at or before the floor's
    // successor, that successor is fresh too, and no query is needed.
    if (hints.freshSeq !== 0 && hints.freshSeq <= floor + 1 && hints.freshTime >= cutoff) return floor
    // Walks from the floor and stops at the first fresh entry: costs the entries that are too
    // old, which maintenance deletes anyway. No index on time is needed.
    const fresh = this.#sql.firstFresh.get(state.id, floor, cutoff) as [number, number] | undefined
    if (fresh === undefined) {
      hints.agedThrough = state.tail
      hints.freshSeq = 0
      return state.tail
    }
    hints.agedThrough = fresh[0] - 1
    hints.freshSeq = fresh[0]
    hints.freshTime = fresh[1]
    return hints.agedThrough
  }

  #dueForTrim(log: string): void {
    this.#trimDue.add(log)
    this.#queueMaintenance()
  }

  /** Queues one bounded maintenance step into the next group commit, unless one is queued. */
  #queueMaintenance(): void {
    if (this.#maintenanceQueued || this.#closed) return
    this.#maintenanceQueued = true
    this.#write((stage, time) => this.#maintain(stage, time)).then(
      (more) => {
        this.#maintenanceQueued = false
        if (more) this.#queueMaintenance()
      },
      (error: unknown) => {
        this.#maintenanceQueued = false
        // A full disk is logged once, as it starts, not at every step that retries.
        if (error instanceof StorageFullError) return
        // Nothing is lost: what was due stays due, and the next step retries.
        this.#logger.error(
          { err: error },
          "herald sqlite engine: maintenance (trimming, expiring) failed; the next step retries",
        )
      },
    )
  }

  /**
   * One bounded step of housekeeping: writes sliding expiries down, drops expired logs, deletes
   * entries past retention and those of dropped logs, at most TRIM_BATCH rows. Whether work is
   * left for another step.
   */
  #maintain(stage: Stage<LogState>, time: number): boolean {
    const more = this.#dropExpired(stage, time)
    let budget = TRIM_BATCH
    for (const log of this.#trimDue) {
      if (budget === 0) return true
      const state = this.#liveIn(stage, log, time)
      const floor = state === undefined ? 0 : this.#floor(state, time)
      if (state !== undefined && floor > state.deleted) {
        const through = Math.min(floor, state.deleted + budget)
        this.#sql.deleteEntriesThrough.run(state.id, through)
        this.#sql.setFloor.run(through, state.id)
        budget -= through - state.deleted
        stage.set(log, { ...state, deleted: through })
        if (through < floor) continue
      }
      stage.after(() => this.#trimDue.delete(log))
    }
    while (budget > 0) {
      const dropped = this.#sql.firstDropped.get() as [number] | undefined
      if (dropped === undefined) break
      const [log] = dropped
      const oldest = this.#sql.oldestEntry.get(log) as [number | null]
      if (oldest[0] === null) {
        this.#sql.deleteDropped.run(log)
        continue
      }
      budget -= this.#sql.deleteEntriesBelow.run(log, oldest[0] + budget).changes
    }
    this.#sql.deleteStaleLeases.run(time)
    return more || budget === 0
  }

  /** Drops up to EXPIRY_BATCH expired logs (their expiries written down first); whether more may be. */
  #dropExpired(stage: Stage<LogState>, time: number): boolean {
    this.#writeTouched(stage)
    const expiring = this.#sql.expiring.all(time, EXPIRY_BATCH) as [string][]
    for (const [name] of expiring) this.#liveIn(stage, name, time)
    return expiring.length === EXPIRY_BATCH
  }

  /** Writes down the sliding expiries reads have moved. */
  #writeTouched(stage: Stage<LogState>): void {
    if (this.#touched.size === 0) return
    const touched = [...this.#touched.values()]
    for (const state of touched) this.#sql.setExpiry.run(state.hints.expiresAt ?? null, state.id)
    stage.after(() => {
      for (const state of touched) this.#touched.delete(state.id)
    })
  }

  /**
   * Checks the age retention of every log, a page at a time (entries age out without any
   * append, so no append would notice): logs with entries to delete are due for a trim.
   */
  #walkAges(): void {
    if (this.#closed || this.#ageWalkScheduled !== undefined) return
    try {
      const now = this.#now()
      const rows = this.#sql.logsAfterId.all(this.#ageWalkAfter, AGE_WALK_PAGE) as LogRow[]
      for (const row of rows) {
        const state = this.#cached(row)
        if (!this.#expired(state, now) && this.#floor(state, now) > state.deleted)
          this.#dueForTrim(state.name)
      }
      this.#ageWalkAfter = rows.length < AGE_WALK_PAGE ? 0 : (rows[rows.length - 1] as LogRow)[0]
      if (this.#ageWalkAfter === 0) return
    } catch (error) {
      this.#logger.error({ err: error }, "herald sqlite engine: checking the age of entries failed")
      return
    }
    this.#ageWalkScheduled = setImmediate(() => {
      this.#ageWalkScheduled = undefined
      this.#walkAges()
    })
  }
}

function hydrate(row: LogRow, defaults: ResolvedRetention): LogState {
  const [id, name, epoch, tail, floor, closed, stop, writerSeq, configJson, createdAt, expiresAt, owner] = row
  const config = parseStoredConfig(configJson)
  const retention = resolveRetention(config.retention, defaults, "log config")
  return {
    id,
    name,
    epoch,
    tail,
    deleted: floor,
    closed: closed === 1,
    stop: stop === 1,
    writerSeq: writerSeq ?? undefined,
    config,
    configJson,
    owner: owner ?? undefined,
    createdAt,
    retention,
    // Trims run every 1% of the count bound (at least 1, at most 1000 entries).
    trimEvery: Math.max(1, Math.min(1000, Math.floor(retention.maxEntries / 100))),
    hints: { expiresAt: expiresAt ?? undefined, agedThrough: 0, freshSeq: 0, freshTime: 0 },
  }
}
