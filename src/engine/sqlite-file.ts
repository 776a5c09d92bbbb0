import { accessSync, constants } from "node:fs"
import { userInfo } from "node:os"
import { basename, dirname } from "node:path"
import { type Database, openDatabase } from "./sqlite-driver.js"
import { StorageFullError } from "./storage-full.js"

/** `PRAGMA application_id` of a Herald database: "HRLD". Tells Herald's files from others. */
export const SQLITE_APPLICATION_ID = 0x48524c44

/** How a Herald database file is opened. */
export interface HeraldFileOptions {
  /** `"normal"`: WAL with syncs at checkpoints only; `"full"`: every commit is fsynced. */
  readonly synchronous: "normal" | "full"
  /** The WAL's size bound (`journal_size_limit`), enforced by the checkpointer. */
  readonly walLimitBytes: number
  /**
   * Brings the file to the caller's schema, in WAL mode already: `version` 0 is a new, empty
   * file (create the schema and set `user_version`); any other is the file's Herald schema
   * version (check it, migrate it, or throw naming what to do).
   */
  readonly setUp: (db: Database, version: number) => void
}

/**
 * Opens the Herald database at `path` (`":memory:"` for a throwaway one): refuses files that are
 * not SQLite or not Herald's, switches to WAL with the commit policy the engine relies on, and
 * lets `setUp` handle the schema. Closes the connection if anything fails.
 */
export function openHeraldFile(path: string, options: HeraldFileOptions): Database {
  const inMemory = path === ":memory:"
  let db: Database
  try {
    db = openDatabase(path)
  } catch (error) {
    const refusal = notWritableOr(error, path)
    if (refusal !== error) throw refusal
    throw new Error(`sqlite engine: cannot open ${path}: ${(error as Error).message}`, { cause: error })
  }
  try {
    let applicationId: number
    let version: number
    try {
      applicationId = db.pragma("application_id", { simple: true }) as number
      version = db.pragma("user_version", { simple: true }) as number
    } catch (error) {
      if ((error as { code?: string }).code === "SQLITE_NOTADB") {
        throw new NotHeraldDatabaseError(path, "it is not an SQLite file at all", { cause: error })
      }
      throw error
    }
    if (applicationId === 0 && version === 0) {
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master").get() as { n: number }
      if (tables.n > 0) {
        throw new NotHeraldDatabaseError(path, "it is an SQLite database with tables Herald did not create")
      }
    } else if (applicationId !== SQLITE_APPLICATION_ID) {
      throw new NotHeraldDatabaseError(
        path,
        `its application_id is ${applicationId}, where Herald's is ${SQLITE_APPLICATION_ID}`,
      )
    }
    // SQLite opens a file it may not write read-only, silently: without this, such a file
    // would open, and every append and maintenance step fail later.
    assertWritable(db, path)
    // WAL: readers never block the writer and a commit is one append to the log. Its durability
    // is the point of `synchronous`: NORMAL syncs at checkpoints only (a process crash loses
    // nothing committed, power loss may lose the last commits); FULL syncs every commit.
    const mode = db.pragma("journal_mode = WAL", { simple: true })
    if (mode !== "wal" && !inMemory) {
      throw new Error(`sqlite engine: ${path} could not be switched to WAL mode (got ${String(mode)}).`)
    }
    db.pragma(`synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`)
    // Commits never checkpoint (the checkpointer's thread does, see sqlite-checkpointer.ts): an
    // auto-checkpoint would run inside some unlucky append, on the event loop. When the WAL
    // starts over, the file is cut back to the limit rather than kept at its largest.
    db.pragma("wal_autocheckpoint = 0")
    db.pragma(`journal_size_limit = ${options.walLimitBytes}`)
    options.setUp(db, applicationId === 0 ? 0 : version)
    return db
  } catch (error) {
    db.close()
    throw error
  }
}

/** A file that is not a Herald database (another program's, or not SQLite): `reason` says how it differs. */
export class NotHeraldDatabaseError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(
      `sqlite engine: ${path} is not a Herald database (${reason}); move it aside or open another file`,
      options,
    )
    this.name = "NotHeraldDatabaseError"
  }
}

/**
 * A database file (or its lock file) that this process may read but not write: its mode, its
 * owner, a read-only mount. `path` is the file, `reason` what SQLite said; or the directory that
 * should hold it, when this process may not create files there.
 */
export class SqliteNotWritableError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(
      `sqlite engine: ${path} is not writable by this process: ${reason}; fix its permissions or open another file`,
      options,
    )
    this.name = "SqliteNotWritableError"
  }
}

/**
 * `error` as a {@link SqliteNotWritableError} when SQLite refused a write for want of permission:
 * of `path`'s directory when this process may not create files there, which SQLite must do for
 * the file, its journal or its WAL (`SQLITE_CANTOPEN`, "unable to open database file", says
 * neither what nor why; `SQLITE_READONLY_DIRECTORY` blames the file); of `path` for the other
 * `SQLITE_READONLY*` and `SQLITE_PERM`. Else `error` as it is: what to throw.
 */
export function notWritableOr(error: unknown, path: string): unknown {
  const code = (error as { code?: unknown }).code
  if (code === "SQLITE_CANTOPEN" || code === "SQLITE_READONLY_DIRECTORY") {
    const dir = dirname(path)
    try {
      accessSync(dir, constants.W_OK)
    } catch (denied) {
      const why = (denied as NodeJS.ErrnoException).code ?? (denied as Error).message
      return new SqliteNotWritableError(
        dir,
        `${processUser()} may not create files in it (${why}), which SQLite needs to open ${basename(path)}`,
        { cause: error },
      )
    }
  }
  const refused = typeof code === "string" && (code.startsWith("SQLITE_READONLY") || code === "SQLITE_PERM")
  return refused ? new SqliteNotWritableError(path, (error as Error).message, { cause: error }) : error
}

/** Who this process runs as, for a refusal: `user nobody (uid 65534)`, or what is known of it. */
function processUser(): string {
  const uid = process.getuid?.()
  try {
    const { username } = userInfo()
    return uid === undefined ? `user ${username}` : `user ${username} (uid ${uid})`
  } catch {
    // A uid with no entry in the user database (a container's): userInfo() throws.
    return uid === undefined ? "this process's user" : `uid ${uid}`
  }
}

/**
 * `error` as a {@link StorageFullError} of `path` when SQLite refused a write for want of room
 * (`SQLITE_FULL`: the disk is full, or the file at its `max_page_count`), else as it is: what to
 * throw.
 */
export function fullOr(error: unknown, path: string): unknown {
  return (error as { code?: unknown }).code === "SQLITE_FULL"
    ? new StorageFullError("sqlite", `the disk holding ${path}`, "free space on it", { cause: error })
    : error
}

/**
 * Writes the header's `user_version` back unchanged in a transaction it rolls back: a page write,
 * which a file SQLite could only open read-only refuses (taking the write lock alone succeeds on
 * such a file in WAL mode). Throws {@link SqliteNotWritableError}.
 */
export function assertWritable(db: Database, path: string): void {
  try {
    db.exec("BEGIN IMMEDIATE")
    try {
      const version = db.pragma("user_version", { simple: true }) as number
      db.pragma(`user_version = ${version}`)
    } finally {
      if (db.inTransaction) db.exec("ROLLBACK")
    }
  } catch (error) {
    throw notWritableOr(error, path)
  }
}

/** Stamps a new file as a Herald database of schema `version`, inside the caller's transaction. */
export function stampHeraldFile(db: Database, version: number): void {
  db.pragma(`application_id = ${SQLITE_APPLICATION_ID}`)
  db.pragma(`user_version = ${version}`)
}

/** The refusal of a Herald file whose schema this code neither reads nor migrates. */
export function unknownSchemaError(path: string, version: number, expected: number): Error {
  return new Error(
    `sqlite engine: ${path} has Herald schema version ${version}; this Herald reads version ${expected}. ` +
      "Open it with the Herald release that wrote it, or start a new file.",
  )
}
