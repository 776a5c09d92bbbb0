import { hostname } from "node:os"
import { type Database, openDatabase } from "./sqlite-driver.js"
import { notWritableOr, type SqliteNotWritableError } from "./sqlite-file.js"

/**
 * One process per database file. The lock is a tiny SQLite database beside the data file,
 * `<file>.lock`, whose write lock (RESERVED, taken by `BEGIN IMMEDIATE`) the holder keeps open on
 * a connection of its own for as long as the engine lives.
 *
 * Why this and not a PID file: SQLite's locks are POSIX advisory locks, which the kernel drops
 * when the process dies, `kill -9` included — no stale lock to detect, no PID-reuse guess, no
 * take-over race between two starters. Why not `locking_mode = EXCLUSIVE` on the data file: it
 * would shut out the checkpointer's own connection. RESERVED rather than EXCLUSIVE: another
 * process can still read who holds the lock (the holder row), so a refusal names the holder.
 */
export interface DatabaseLock {
  /** The lock file. */
  readonly path: string
  /** Releases the lock; safe to call more than once. */
  release(): void
}

/** Why a database file could not be locked: another process holds it. */
export class DatabaseLockedError extends Error {
  constructor(
    readonly databasePath: string,
    readonly lockPath: string,
    readonly holder: HolderRow | undefined,
  ) {
    const who =
      holder === undefined
        ? "another process (it is starting up)"
        : `process ${holder.pid} on ${holder.host}, since ${new Date(holder.since).toISOString()}`
    super(
      `sqlite engine: ${databasePath} is in use by ${who}; its lock file is ${lockPath}. ` +
        "One process per database file: stop that process, or point this one at another file.",
    )
    this.name = "DatabaseLockedError"
  }
}

interface HolderRow {
  readonly pid: number
  readonly host: string
  readonly since: number
}

/** How long a starter waits on a lock that is only busy for a moment (a holder writing its row). */
const BUSY_WAIT_MS = 250
/** Rounds of "write my row, then hold" lost to a simultaneous starter before giving up. */
const ATTEMPTS = 5

/**
 * Takes the lock of the database file at `databasePath`, or throws {@link DatabaseLockedError}
 * (another process holds it) or {@link SqliteNotWritableError} (this one may not write the lock file).
 */
export function lockDatabaseFile(databasePath: string): DatabaseLock {
  const path = `${databasePath}.lock`
  let db: Database
  try {
    db = openDatabase(path, { timeout: BUSY_WAIT_MS })
  } catch (error) {
    throw notWritableOr(error, path)
  }
  try {
    // The holder row need not survive a power loss: no fsync. The journal stays, so a process
    // killed while writing the row leaves a file the next starter can still read.
    db.pragma("synchronous = OFF")
    db.exec(
      "CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, host TEXT NOT NULL, since INTEGER NOT NULL)",
    )
    const me: HolderRow = { pid: process.pid, host: hostname(), since: Date.now() }
    const readHolder = db.prepare("SELECT pid, host, since FROM holder")
    // The holder's row must be committed to be readable by a refused starter, and committing
    // drops the write lock: write the row, commit, take the lock again, and check that the row
    // is still ours (a starter racing through the gap may have written its own).
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (!tryBegin(db)) throw new DatabaseLockedError(databasePath, path, holderOf(readHolder))
      db.exec("DELETE FROM holder")
      db.prepare("INSERT INTO holder (pid, host, since) VALUES (?, ?, ?)").run(me.pid, me.host, me.since)
      db.exec("COMMIT")
      if (!tryBegin(db)) throw new DatabaseLockedError(databasePath, path, holderOf(readHolder))
      if (holderOf(readHolder)?.pid === me.pid) return held(path, db)
      db.exec("ROLLBACK")
    }
    throw new DatabaseLockedError(databasePath, path, holderOf(readHolder))
  } catch (error) {
    db.close()
    throw notWritableOr(error, path)
  }
}

function tryBegin(db: Database): boolean {
  try {
    db.exec("BEGIN IMMEDIATE")
    return true
  } catch (error) {
    if ((error as { code?: string }).code === "SQLITE_BUSY") return false
    throw error
  }
}

function holderOf(readHolder: ReturnType<Database["prepare"]>): HolderRow | undefined {
  try {
    return readHolder.get() as HolderRow | undefined
  } catch (error) {
    // The holder is committing its row this very moment: it is there, just not readable yet.
    if ((error as { code?: string }).code === "SQLITE_BUSY") return undefined
    throw error
  }
}

function held(path: string, db: Database): DatabaseLock {
  return {
    path,
    release() {
      // Closing ends the open transaction, which releases the lock.
      if (db.open) db.close()
    },
  }
}
