import { mkdirSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { GroupCommit, type Outcome } from "../../engine/group-commit.js"
import {
  type Checkpointer,
  type CheckpointPolicy,
  createCheckpointer,
  resolveCheckpointPolicy,
  SQLITE_CHECKPOINT_DEFAULTS,
} from "../../engine/sqlite-checkpointer.js"
import type { Database, Statement } from "../../engine/sqlite-driver.js"
import {
  openHeraldFile,
  SQLITE_APPLICATION_ID,
  stampHeraldFile,
  unknownSchemaError,
} from "../../engine/sqlite-file.js"
import { type DatabaseLock, lockDatabaseFile } from "../../engine/sqlite-lock.js"
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

/** Options for {@link createSqliteEngine}. */
export interface SqliteEngineOptions {
  /** The database file; its directory is created if missing. `":memory:"` for a throwaway one. */
  readonly path: string
  /** Default: 1 000 000 updates, 30 days. */
  readonly retention?: RetentionLimits
  /**
   * `"normal"` (default): in WAL mode, an acknowledged append survives a crash or `kill -9` of
   * the process, but the last few may be lost on power loss or an OS crash. `"full"`: every
   * commit is fsynced, so acknowledged appends survive power loss too, at a cost per append.
   */
  readonly synchronous?: "normal" | "full"
  /** The clock stamping `time` and ageing updates out (ms since the epoch). Default `Date.now`. */
  readonly now?: () => number
  /** Receives what a live-feed listener throws (a bug in its owner), and failed trims and checkpoints. Default: {@link defaultLogger}. */
  readonly logger?: Logger
  /**
   * When the WAL is copied back into the database file, by a worker thread on its own
   * connection (commits never checkpoint). Default: {@link SQLITE_CHECKPOINT_DEFAULTS}.
   */
  readonly checkpoint?: Partial<CheckpointPolicy>
}

/** The SQLite engine's retention when none is given: 1 000 000 updates, at most 30 days old. */
export const SQLITE_RETENTION_DEFAULTS: ResolvedRetention = {
  maxEvents: 1_000_000,
  maxAgeMs: 30 * 24 * 60 * 60 * 1000,
}

/** `PRAGMA user_version` of the schema this code reads and writes. */
export const SQLITE_SCHEMA_VERSION = 1

export { SQLITE_APPLICATION_ID, SQLITE_CHECKPOINT_DEFAULTS }

/** Most rows one trim deletes, so a large backlog never holds the writer for long. */
const TRIM_BATCH = 10_000

const SCHEMA = `
  CREATE TABLE updates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: a seq is never reused, even once trimmed
    id TEXT NOT NULL,
    topics TEXT NOT NULL,                  -- JSON array, canonical topic first
    data TEXT NOT NULL,
    private INTEGER NOT NULL,
    type TEXT,
    retry INTEGER,
    time INTEGER NOT NULL,
    frame TEXT NOT NULL
  );
  -- Index entries carry the rowid in order: the earliest seq of an id is one seek.
  CREATE INDEX updates_id ON updates (id);
`

/** A row of `#after`, read raw: the columns in the order the query names them. */
type Row = [
  seq: number,
  id: string,
  topics: string,
  data: string,
  isPrivate: number,
  type: string | null,
  retry: number | null,
  time: number,
  frame: string,
]

/** A checked, serialized update, ready to insert. */
type PreparedUpdate = ReturnType<typeof prepareUpdate>

/**
 * The embedded durable engine: better-sqlite3 in WAL mode. An append resolves once committed, so
 * an acknowledged update survives a crash of the process; reopening the file continues the seq
 * and keeps the history. One process per file, enforced by a lock file beside it
 * (sqlite-lock.ts); appends arriving together share a transaction (group-commit.ts); the WAL is
 * checkpointed off the event loop (sqlite-checkpointer.ts).
 */
export function createSqliteEngine(options: SqliteEngineOptions): Engine {
  return new SqliteEngine(options)
}

class SqliteEngine implements Engine {
  readonly name = "sqlite"
  readonly #retention: ResolvedRetention
  readonly #now: () => number
  readonly #listeners: Listeners
  readonly #logger: Logger
  readonly #db: Database
  readonly #lock: DatabaseLock | undefined
  readonly #checkpointer: Checkpointer | undefined
  readonly #commits: GroupCommit<readonly PreparedUpdate[], readonly StoredUpdate[]>
  readonly #insert: Statement
  readonly #firstOfId: Statement
  readonly #after: Statement
  readonly #newest: Statement
  readonly #firstFresh: Statement
  readonly #deleteBelow: Statement
  /** Inserts one caller's batch; inside {@link SqliteEngine.#appendGroup}, a savepoint of its own. */
  readonly #appendBatch: (updates: readonly PreparedUpdate[], time: number) => StoredUpdate[]
  /** One transaction for the batches of many callers; a batch that fails is rolled back alone. */
  readonly #appendGroup: (
    batches: readonly (readonly PreparedUpdate[])[],
    time: number,
  ) => Outcome<readonly StoredUpdate[]>[]
  /** The highest seq ever assigned (kept across trims and restarts by AUTOINCREMENT). */
  #lastSeq: number
  /** Every row below this seq is physically deleted. */
  #deletedBelow: number
  /** Rows below this seq are known too old; cached so each row's age is checked about once. */
  #ageFloor = 0
  /** Trims run every this many appended updates. */
  readonly #trimEvery: number
  #appendedSinceTrim = 0
  #trimScheduled: NodeJS.Immediate | undefined
  readonly #ageTimer: NodeJS.Timeout | undefined
  #closed = false

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
    this.#retention = resolveRetention(options.retention, SQLITE_RETENTION_DEFAULTS, "sqlite")
    this.#now = options.now ?? Date.now
    const logger = options.logger ?? defaultLogger()
    this.#logger = logger
    this.#listeners = new Listeners((error) =>
      logger.error({ err: error }, `herald ${this.name} engine: a live-feed listener threw`),
    )
    const checkpoint = resolveCheckpointPolicy(options.checkpoint)
    const inMemory = options.path === ":memory:"
    if (!inMemory) mkdirSync(dirname(resolve(options.path)), { recursive: true })
    // The lock first: a refused second process must not touch the file at all.
    this.#lock = inMemory ? undefined : lockDatabaseFile(options.path)
    try {
      this.#db = open(options.path, synchronous, checkpoint)
    } catch (error) {
      this.#lock?.release()
      throw error
    }
    const db = this.#db
    this.#insert = db.prepare(
      "INSERT INTO updates (id, topics, data, private, type, retry, time, frame) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    this.#firstOfId = db.prepare("SELECT seq FROM updates WHERE id = ? AND seq >= ? ORDER BY seq LIMIT 1")
    this.#after = db
      .prepare(
        "SELECT seq, id, topics, data, private, type, retry, time, frame FROM updates WHERE seq > ? ORDER BY seq LIMIT ?",
      )
      .raw(true)
    this.#newest = db.prepare("SELECT seq, id FROM updates ORDER BY seq DESC LIMIT 1")
    // Walks the rowid from `seq` and stops at the first fresh row: costs the number of rows
    // that are too old, which the trims delete anyway. No index on time is needed.
    this.#firstFresh = db.prepare("SELECT seq FROM updates WHERE seq >= ? AND time >= ? ORDER BY seq LIMIT 1")
    this.#deleteBelow = db.prepare("DELETE FROM updates WHERE seq < ?")
    const sequence = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'updates'").get() as
      | { seq: number }
      | undefined
    this.#lastSeq = sequence?.seq ?? 0
    const oldest = db.prepare("SELECT seq FROM updates ORDER BY seq LIMIT 1").get() as
      | { seq: number }
      | undefined
    this.#deletedBelow = oldest?.seq ?? this.#lastSeq + 1
    this.#trimEvery = Math.max(1, Math.min(1000, Math.floor(this.#retention.maxEvents / 100)))
    this.#appendBatch = db.transaction((prepared: readonly PreparedUpdate[], time: number) => {
      const stored: StoredUpdate[] = []
      for (const update of prepared) {
        const { lastInsertRowid } = this.#insert.run(
          update.id,
          JSON.stringify(update.topics),
          update.data,
          update.private ? 1 : 0,
          update.type ?? null,
          update.retry ?? null,
          time,
          update.frame,
        )
        stored.push({ seq: Number(lastInsertRowid), ...update, time })
      }
      return stored
    })
    this.#appendGroup = db.transaction((batches: readonly (readonly PreparedUpdate[])[], time: number) =>
      batches.map((batch): Outcome<readonly StoredUpdate[]> => {
        try {
          return { ok: true, value: this.#appendBatch(batch, time) }
        } catch (error) {
          return { ok: false, error }
        }
      }),
    )
    this.#commits = new GroupCommit((batches) => this.#commitGroup(batches))
    this.#checkpointer = inMemory ? undefined : createCheckpointer(options.path, checkpoint, logger)
    if (this.#retention.maxAgeMs !== Number.POSITIVE_INFINITY) {
      // Without appends nothing else would trim: age the history out on a timer too.
      const every = Math.min(60_000, Math.max(1000, Math.floor(this.#retention.maxAgeMs / 10)))
      this.#ageTimer = setInterval(() => this.#scheduleTrim(), every)
      this.#ageTimer.unref()
    }
    // A history left over-long by a previous run (or by smaller limits now) is trimmed soon.
    this.#scheduleTrim()
  }

  async append(updates: readonly NewUpdate[]): Promise<readonly StoredUpdate[]> {
    this.#assertOpen()
    if (!Array.isArray(updates)) throw new TypeError("append() takes an array of updates.")
    // Every update is checked and serialized before the transaction: a batch is all or nothing,
    // so one caller's bad update never reaches, let alone fails, the group it would join.
    const prepared = updates.map(prepareUpdate)
    if (prepared.length === 0) return []
    return this.#commits.submit(prepared)
  }

  listen(listener: Listener): () => void {
    this.#assertOpen()
    return this.#listeners.add(listener)
  }

  async readAfter(cursor: string, limit: number): Promise<ReadResult> {
    this.#assertOpen()
    assertCursor(cursor)
    assertLimit(limit)
    const floor = this.#floor()
    let after = floor - 1
    if (cursor !== EARLIEST) {
      const row = this.#firstOfId.get(cursor, floor) as { seq: number } | undefined
      if (row === undefined) return { found: false }
      after = row.seq
    }
    return this.#page(after, limit)
  }

  async readAfterSeq(seq: number, limit: number): Promise<ReadResult> {
    this.#assertOpen()
    assertSeq(seq)
    assertLimit(limit)
    if (seq < this.#floor() - 1) return { found: false }
    return this.#page(seq, limit)
  }

  async lastId(): Promise<string | undefined> {
    this.#assertOpen()
    const floor = this.#floor()
    const row = this.#newest.get() as { seq: number; id: string } | undefined
    return row !== undefined && row.seq >= floor ? row.id : undefined
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#commits.flush()
    if (this.#trimScheduled !== undefined) clearImmediate(this.#trimScheduled)
    if (this.#ageTimer !== undefined) clearInterval(this.#ageTimer)
    this.#listeners.clear()
    await this.#checkpointer?.stop()
    this.#db.close()
    this.#lock?.release()
  }

  /** Commits a group of callers' batches in one transaction; then, and only then, tells the live feed. */
  #commitGroup(batches: readonly (readonly PreparedUpdate[])[]): Outcome<readonly StoredUpdate[]>[] {
    const outcomes = this.#appendGroup(batches, this.#now())
    for (const outcome of outcomes) {
      if (!outcome.ok) continue
      const stored = outcome.value
      this.#lastSeq = (stored[stored.length - 1] as StoredUpdate).seq
      this.#appendedSinceTrim += stored.length
      // Each caller's batch is one batch of the feed, in commit order.
      this.#listeners.notify(stored)
    }
    if (this.#appendedSinceTrim >= this.#trimEvery) this.#scheduleTrim()
    const checkpointing = this.#checkpointer?.afterCommit()
    if (checkpointing !== undefined) this.#commits.pause(checkpointing)
    return outcomes
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("sqlite engine: the engine is closed.")
  }

  #page(after: number, limit: number): ReadResult {
    // One row more than asked tells whether others follow.
    const rows = this.#after.all(after, limit + 1) as Row[]
    const more = rows.length > limit
    if (more) rows.pop()
    return { found: true, updates: rows.map(toStored), more }
  }

  /**
   * The oldest seq retention still allows. Reads answer by it even before the trims have
   * deleted the rows below it, so the limits are exact from a reader's point of view.
   */
  #floor(): number {
    const byCount = Math.max(this.#deletedBelow, this.#lastSeq - this.#retention.maxEvents + 1)
    if (this.#retention.maxAgeMs === Number.POSITIVE_INFINITY) return byCount
    const start = Math.max(byCount, this.#ageFloor)
    const fresh = this.#firstFresh.get(start, this.#now() - this.#retention.maxAgeMs) as
      | { seq: number }
      | undefined
    this.#ageFloor = fresh?.seq ?? this.#lastSeq + 1
    return this.#ageFloor
  }

  #scheduleTrim(): void {
    if (this.#trimScheduled !== undefined || this.#closed) return
    this.#trimScheduled = setImmediate(() => {
      this.#trimScheduled = undefined
      this.#trim()
    })
  }

  /** Deletes rows below the floor, at most TRIM_BATCH at a time, in one `DELETE`. */
  #trim(): void {
    if (this.#closed) return
    this.#appendedSinceTrim = 0
    try {
      const floor = this.#floor()
      const below = Math.min(floor, this.#deletedBelow + TRIM_BATCH)
      if (below > this.#deletedBelow) {
        this.#deleteBelow.run(below)
        this.#deletedBelow = below
      }
      // More to delete: yield to appends and reads, then go on.
      if (below < floor) this.#scheduleTrim()
    } catch (error) {
      // A failed trim (disk full, busy) loses nothing; the next one retries.
      this.#logger.error(
        { err: error },
        "herald sqlite engine: trimming the history failed; the next trim retries",
      )
    }
  }
}

function toStored([seq, id, topics, data, isPrivate, type, retry, time, frame]: Row): StoredUpdate {
  return {
    seq,
    id,
    topics: JSON.parse(topics) as string[],
    data,
    private: isPrivate === 1,
    type: type ?? undefined,
    retry: retry ?? undefined,
    time,
    frame,
  }
}

/** Opens the file, checks it is a Herald database of this schema version, creates it if new. */
function open(path: string, synchronous: "normal" | "full", checkpoint: CheckpointPolicy): Database {
  return openHeraldFile(path, {
    synchronous,
    walLimitBytes: checkpoint.walLimitBytes,
    setUp(db, version) {
      if (version === 0) {
        db.transaction(() => {
          db.exec(SCHEMA)
          stampHeraldFile(db, SQLITE_SCHEMA_VERSION)
        })()
      } else if (version !== SQLITE_SCHEMA_VERSION) {
        throw unknownSchemaError(path, version, SQLITE_SCHEMA_VERSION)
      }
    },
  })
}
