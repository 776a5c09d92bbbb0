import type { NewEntry } from "./engine.js"
import { newEpoch } from "./position.js"
import type { Database } from "./sqlite-driver.js"
import { stampHeraldFile, unknownSchemaError } from "./sqlite-file.js"

/** `PRAGMA user_version` of the schema this engine reads and writes: logs. */
export const SQLITE_SCHEMA_VERSION = 2

/**
 * Schema 2: logs. A log's row holds everything an append checks (its state is cached in memory,
 * the process owning the file); its entries are found by (log, seq), so that a read after a
 * position is one seek and a scan.
 */
const SCHEMA = `
  CREATE TABLE logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: a dropped log's id, whose entries may still be being deleted, is never reused
    name TEXT NOT NULL UNIQUE,
    epoch TEXT NOT NULL,
    tail INTEGER NOT NULL,                -- seq of the newest entry (0: none yet)
    floor INTEGER NOT NULL,               -- entries at or below this seq are deleted
    closed INTEGER NOT NULL,
    stop INTEGER NOT NULL,
    owner TEXT,
    writer_seq TEXT,
    config TEXT NOT NULL,                 -- canonical JSON (sqlite-config.ts)
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    ttl INTEGER
  );
  CREATE INDEX logs_expiry ON logs (expires_at) WHERE expires_at IS NOT NULL;
  CREATE TABLE entries (
    log INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    key TEXT,
    time INTEGER NOT NULL
  );
  -- Not a WITHOUT ROWID table keyed by (log, seq): that is an index b-tree, which SQLite advises
  -- only for rows under ~1/20 of a page, and entries are often kilobytes (measured: appends and
  -- reads 2 to 3 times slower with 1.5 KB entries). Rows go in rowid (append) order; this finds them.
  CREATE UNIQUE INDEX entries_position ON entries (log, seq);
  -- locate: the oldest held entry of a key is one seek.
  CREATE INDEX entries_key ON entries (log, key, seq) WHERE key IS NOT NULL;
  CREATE TABLE producers (
    log INTEGER NOT NULL,
    id TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (log, id)
  ) WITHOUT ROWID;
  CREATE TABLE leases (node TEXT PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;
  -- Logs deleted or expired whose entries are still being deleted, in bounded batches.
  CREATE TABLE dropped (log INTEGER PRIMARY KEY);
`

/** A Mercure update as Herald 0.1.0 stored it (schema 1, table `updates`). */
export interface V1Update {
  readonly id: string
  readonly topics: string[]
  readonly data: string
  readonly private: boolean
  readonly type?: string
  readonly retry?: number
  /** When it was accepted, ms since the Unix epoch; the entry keeps it. */
  readonly time: number
}

/** How older schemas are brought to this one, when the caller allows it. */
export interface SqliteMigrations {
  /**
   * Schema 1 (Herald 0.1.0, the hub's updates): they become the entries of the log `log`, in
   * order, through `toEntry` (the hub's codec), in one transaction.
   */
  readonly v1?: {
    readonly log: string
    readonly toEntry: (update: V1Update) => NewEntry
  }
}

/** Rows of schema 1 read per query while migrating: memory stays bounded whatever the history. */
const MIGRATION_PAGE = 1000

/** Creates the schema of a new file, checks an existing one, or migrates a schema-1 file. */
export function setUpSchema(
  db: Database,
  version: number,
  path: string,
  migrations: SqliteMigrations | undefined,
  now: () => number,
): void {
  if (version === SQLITE_SCHEMA_VERSION) return
  if (version === 0) {
    db.transaction(() => {
      db.exec(SCHEMA)
      stampHeraldFile(db, SQLITE_SCHEMA_VERSION)
    })()
    return
  }
  if (version !== 1) throw unknownSchemaError(path, version, SQLITE_SCHEMA_VERSION)
  const v1 = migrations?.v1
  if (v1 === undefined) {
    throw new Error(
      `sqlite engine: ${path} is a Herald 0.1.0 database (schema version 1: the hub's updates); this Herald reads version ${SQLITE_SCHEMA_VERSION} (logs). ` +
        "To convert it in place, in one transaction, open it once with the option " +
        "`migrate: { v1: { log, toEntry } }` (the log that receives the updates, and how an update becomes an entry); " +
        "or keep it for Herald 0.1.0 and point this one at a new file.",
    )
  }
  db.transaction(() => migrateV1(db, v1, now()))()
}

/** The raw columns of a schema-1 row, in the order {@link migrateV1} selects them. */
type V1Row = [
  seq: number,
  id: string,
  topics: string,
  data: string,
  isPrivate: number,
  type: string | null,
  retry: number | null,
  time: number,
]

function migrateV1(db: Database, v1: NonNullable<SqliteMigrations["v1"]>, createdAt: number): void {
  db.exec(SCHEMA)
  const { lastInsertRowid } = db
    .prepare(
      "INSERT INTO logs (name, epoch, tail, floor, closed, stop, config, created_at) VALUES (?, ?, 0, 0, 0, 0, '{}', ?)",
    )
    .run(v1.log, newEpoch(), createdAt)
  const log = Number(lastInsertRowid)
  const page = db
    .prepare(
      "SELECT seq, id, topics, data, private, type, retry, time FROM updates WHERE seq > ? ORDER BY seq LIMIT ?",
    )
    .raw(true)
  const insert = db.prepare("INSERT INTO entries (log, seq, data, key, time) VALUES (?, ?, ?, ?, ?)")
  // Renumbered from 1: seqs of a log are contiguous, and the log is a new incarnation anyway.
  let seq = 0
  let after = -1
  for (
    let rows = page.all(after, MIGRATION_PAGE) as V1Row[];
    rows.length > 0;
    rows = page.all(after, MIGRATION_PAGE) as V1Row[]
  ) {
    for (const [oldSeq, id, topics, data, isPrivate, type, retry, time] of rows) {
      const update: V1Update = {
        id,
        topics: JSON.parse(topics) as string[],
        data,
        private: isPrivate === 1,
        ...(type === null ? {} : { type }),
        ...(retry === null ? {} : { retry }),
        time,
      }
      const entry = v1.toEntry(update)
      if (typeof entry?.data !== "string" || (entry.key !== undefined && typeof entry.key !== "string")) {
        throw new TypeError(
          `sqlite engine: migrate.v1.toEntry must return { data: string, key?: string }; update ${id} gave ${String(entry)}.`,
        )
      }
      insert.run(log, ++seq, entry.data, entry.key ?? null, time)
      after = oldSeq
    }
  }
  db.prepare("UPDATE logs SET tail = ? WHERE id = ?").run(seq, log)
  db.exec("DROP TABLE updates")
  stampHeraldFile(db, SQLITE_SCHEMA_VERSION)
}
