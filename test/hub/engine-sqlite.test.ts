import { mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { DatabaseLockedError } from "../../src/engine/sqlite-lock.js"
import { EARLIEST } from "../../src/hub/engine/engine.js"
import { createSqliteEngine, SQLITE_APPLICATION_ID } from "../../src/hub/engine/sqlite.js"
import { walCommits } from "../engine/sqlite-wal.js"
import { recordingLogger } from "../server/helpers.js"
import { describeEngine, found, update } from "./engine-suite.js"

const Database = createRequire(import.meta.url)("better-sqlite3") as new (
  path: string,
) => {
  prepare(sql: string): { get(...params: unknown[]): unknown; run(...params: unknown[]): unknown }
  pragma(sql: string, options?: { simple?: boolean }): unknown
  exec(sql: string): void
  close(): void
}

const root = mkdtempSync(join(tmpdir(), "herald-sqlite-"))
let files = 0
function newPath(): string {
  return join(root, `db-${files++}`, "herald.db")
}
afterAll(() => rmSync(root, { recursive: true, force: true }))

describeEngine("sqlite", (options) => createSqliteEngine({ path: newPath(), ...options }))

describe("sqlite engine", () => {
  it("keeps the history and continues the seq after a reopen", async () => {
    const path = newPath()
    const first = createSqliteEngine({ path })
    const before = await first.append([update("a", { id: "a" }), update("b", { id: "b" })])
    await first.close()
    const second = createSqliteEngine({ path })
    expect(await second.lastId()).toBe("b")
    expect(found(await second.readAfter(EARLIEST, 10))).toEqual(before)
    const [after] = await second.append([update("c")])
    expect(after?.seq).toBe((before[1]?.seq as number) + 1)
    expect(found(await second.readAfter("a", 10)).map((u) => u.data)).toEqual(["b", "c"])
    await second.close()
  })

  it("never reuses a seq, even once every update was trimmed away", async () => {
    let clock = 0
    const path = newPath()
    const options = { path, retention: { maxAgeMs: 10 }, now: () => clock }
    const first = createSqliteEngine(options)
    const stored = await first.append([update("a"), update("b")])
    await first.close()
    clock = 100
    // Opening schedules a trim: both updates are too old and go.
    const second = createSqliteEngine(options)
    await new Promise((resolve) => setImmediate(resolve))
    await second.close()
    const reader = new Database(path)
    expect(reader.prepare("SELECT count(*) AS n FROM updates").get()).toEqual({ n: 0 })
    reader.close()
    const third = createSqliteEngine(options)
    expect(await third.lastId()).toBeUndefined()
    const [next] = await third.append([update("c")])
    expect(next?.seq).toBe((stored[1]?.seq as number) + 1)
    await third.close()
  })

  it("deletes trimmed rows from the file, not only from reads", async () => {
    const path = newPath()
    const engine = createSqliteEngine({ path, retention: { maxEvents: 500 } })
    for (let i = 0; i < 50; i++) {
      await engine.append(Array.from({ length: 100 }, (_, j) => update(`e${i * 100 + j}`)))
      await new Promise((resolve) => setImmediate(resolve))
    }
    const reader = new Database(path)
    const count = () => (reader.prepare("SELECT count(*) AS n FROM updates").get() as { n: number }).n
    // Trims run every maxEvents / 100 appended updates, so the file holds little more than the limit.
    await expect.poll(count).toBeLessThanOrEqual(600)
    expect(count()).toBeGreaterThanOrEqual(500)
    reader.close()
    await engine.close()
  })

  it("reports a failed trim to its logger, loses nothing, and keeps serving", async () => {
    const path = newPath()
    const logger = recordingLogger()
    const engine = createSqliteEngine({ path, retention: { maxEvents: 1 }, logger })
    await engine.append([update("first")])
    // Another connection makes every DELETE fail: the next trim cannot run.
    const saboteur = new Database(path)
    saboteur.exec(
      "CREATE TRIGGER no_delete BEFORE DELETE ON updates BEGIN SELECT RAISE(ABORT, 'injected'); END",
    )
    saboteur.close()
    await engine.append([update("second")])
    await engine.append([update("third")])
    for (let i = 0; i < 100 && logger.entries.length === 0; i++)
      await new Promise((resolve) => setImmediate(resolve))
    expect(logger.entries[0]?.message).toMatch(/trimming the history failed/)
    expect(String(logger.entries[0]?.fields.err)).toMatch(/injected/)
    const [fourth] = await engine.append([update("fourth")])
    expect(fourth?.data).toBe("fourth")
    await engine.close()
  })

  it("trims a large backlog in bounded steps that let appends through", async () => {
    const path = newPath()
    const big = createSqliteEngine({ path })
    for (let i = 0; i < 5; i++)
      await big.append(Array.from({ length: 10_000 }, (_, j) => update(`e${i}-${j}`)))
    await big.close()
    // Reopened with a much smaller limit: 49 900 rows must go, at most 10 000 per DELETE.
    const small = createSqliteEngine({ path, retention: { maxEvents: 100 } })
    expect(found(await small.readAfter(EARLIEST, 1000))).toHaveLength(100)
    await new Promise((resolve) => setImmediate(resolve))
    const reader = new Database(path)
    const count = () => (reader.prepare("SELECT count(*) AS n FROM updates").get() as { n: number }).n
    const afterOneStep = count()
    expect(afterOneStep).toBeGreaterThan(100)
    expect(afterOneStep).toBeLessThanOrEqual(50_000 - 10_000)
    for (let i = 0; i < 10 && count() > 100; i++) await new Promise((resolve) => setTimeout(resolve, 5))
    expect(count()).toBe(100)
    reader.close()
    await small.close()
  })

  it("uses WAL, and creates the directory of a new file", async () => {
    const path = join(root, "deep", "er", "still", "herald.db")
    const engine = createSqliteEngine({ path, synchronous: "full" })
    await engine.append([update("x")])
    const reader = new Database(path)
    expect(reader.pragma("journal_mode", { simple: true })).toBe("wal")
    expect(reader.pragma("application_id", { simple: true })).toBe(SQLITE_APPLICATION_ID)
    reader.close()
    await engine.close()
  })

  it("refuses a file that is not SQLite, with a clear error", () => {
    const path = join(root, "not-sqlite.db")
    writeFileSync(path, "this is a text file, long enough to look like something else ".repeat(20))
    expect(() => createSqliteEngine({ path })).toThrow(/is not a Herald database \(it is not an SQLite file/)
  })

  it("refuses another application's SQLite database", () => {
    const path = join(root, "other-app.db")
    const other = new Database(path)
    other.exec("CREATE TABLE users (name TEXT)")
    other.close()
    expect(() => createSqliteEngine({ path })).toThrow(/SQLite database but not a Herald one/)
    const tagged = new Database(path)
    tagged.pragma("application_id = 1234")
    tagged.close()
    expect(() => createSqliteEngine({ path })).toThrow(/is not a Herald database \(application_id 1234/)
  })

  it("refuses a Herald database of another schema version", async () => {
    const path = newPath()
    await createSqliteEngine({ path }).close()
    const db = new Database(path)
    db.pragma("user_version = 99")
    db.close()
    expect(() => createSqliteEngine({ path })).toThrow(/schema version 99; this Herald reads version 1/)
  })

  it("rejects bad options with a clear error", () => {
    expect(() => createSqliteEngine({ path: "" })).toThrow(/options.path/)
    expect(() => createSqliteEngine({ path: newPath(), synchronous: "off" as "full" })).toThrow(/synchronous/)
    expect(() => createSqliteEngine({ path: newPath(), checkpoint: { everyMs: 0 } })).toThrow(
      /checkpoint.everyMs/,
    )
  })
})

describe("sqlite engine: one process per file", () => {
  it("refuses a second engine on a file in use, naming the lock file and the holder; takes it once released", async () => {
    const path = newPath()
    const first = createSqliteEngine({ path })
    let refusal: unknown
    try {
      createSqliteEngine({ path })
    } catch (error) {
      refusal = error
    }
    expect(refusal).toBeInstanceOf(DatabaseLockedError)
    expect((refusal as Error).message).toContain(`${path} is in use by process ${process.pid}`)
    expect((refusal as Error).message).toContain(`its lock file is ${path}.lock`)
    await first.append([update("kept")])
    await first.close()
    const second = createSqliteEngine({ path })
    expect(await second.lastId()).toBeDefined()
    await second.close()
  })
})

describe("sqlite engine: group commit", () => {
  // The checkpointer is kept idle so that the WAL keeps every commit for walCommits to count.
  const idle = { everyMs: 3_600_000 }

  it("commits appends that arrive together in one transaction, and settles each caller in order with its own updates", async () => {
    const path = newPath()
    const engine = createSqliteEngine({ path, checkpoint: idle })
    const before = walCommits(path)
    const settled: number[] = []
    const appends = Array.from({ length: 100 }, (_, i) =>
      engine.append([update(`a${i}`), update(`b${i}`)]).then((stored) => {
        settled.push(i)
        return stored
      }),
    )
    const results = await Promise.all(appends)
    expect(walCommits(path) - before).toBe(1)
    expect(settled).toEqual(results.map((_, i) => i))
    const seqs = results.flatMap((stored) => stored.map((u) => u.seq))
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] as number) + i))
    expect(results[7]?.map((u) => u.data)).toEqual(["a7", "b7"])
    await engine.close()
  })

  it("fails only the caller whose batch cannot be stored; the others of its group commit, and its batch leaves nothing", async () => {
    const path = newPath()
    const engine = createSqliteEngine({ path, checkpoint: idle })
    await engine.append([update("first")])
    // Valid for the engine, refused by the database: a failure no check before the group can see.
    const saboteur = new Database(path)
    saboteur.exec(
      "CREATE TRIGGER no_poison BEFORE INSERT ON updates WHEN NEW.data = 'poison' BEGIN SELECT RAISE(ABORT, 'injected'); END",
    )
    saboteur.close()
    const before = walCommits(path)
    const [a, poisoned, c] = await Promise.allSettled([
      engine.append([update("a")]),
      engine.append([update("b"), update("poison")]),
      engine.append([update("c")]),
    ])
    expect(walCommits(path) - before).toBe(1)
    expect(a?.status).toBe("fulfilled")
    expect(poisoned?.status).toBe("rejected")
    expect(String((poisoned as PromiseRejectedResult).reason)).toMatch(/injected/)
    expect(c?.status).toBe("fulfilled")
    expect(found(await engine.readAfter(EARLIEST, 10)).map((u) => u.data)).toEqual(["first", "a", "c"])
    await engine.close()
  })

  it("commits the appends still queued when it closes", async () => {
    // In memory: no checkpointer to stop, so close() closes the connection without yielding.
    const engine = createSqliteEngine({ path: ":memory:" })
    const pending = engine.append([update("last")])
    await engine.close()
    expect((await pending)[0]?.data).toBe("last")
  })
})

describe("sqlite engine: checkpoints", () => {
  const payload = "x".repeat(4000)
  /** Appends `count` updates of about 4 KB one by one; the WAL's largest size on the way. */
  async function writeLoop(engine: ReturnType<typeof createSqliteEngine>, path: string, count: number) {
    let largest = 0
    for (let i = 0; i < count; i++) {
      await engine.append([update(`${i} ${payload}`)])
      largest = Math.max(largest, statSync(`${path}-wal`).size)
    }
    return largest
  }

  it("never checkpoints in a commit: with the checkpointer idle the WAL grows past SQLite's auto-checkpoint (1000 pages)", async () => {
    const path = newPath()
    const engine = createSqliteEngine({ path, checkpoint: { everyMs: 3_600_000 } })
    expect(await writeLoop(engine, path, 1500)).toBeGreaterThan(1000 * 4096 * 1.5)
    await engine.close()
  })

  it("copies the WAL into the database file from its own thread, with no help from commits", async () => {
    const path = newPath()
    const engine = createSqliteEngine({ path, checkpoint: { everyMs: 10 } })
    await writeLoop(engine, path, 500)
    // Only a checkpoint writes pages into the database file itself: 500 rows of 4 KB take 2 MB.
    await expect.poll(() => statSync(path).size, { timeout: 5000 }).toBeGreaterThan(2 * 1024 * 1024)
    await engine.close()
  })

  it("goes on committing, and says so, when the checkpointer thread cannot run", async () => {
    const path = newPath()
    const logger = recordingLogger()
    const engine = createSqliteEngine({ path, logger, checkpoint: { everyMs: 5, walLimitBytes: 64 * 1024 } })
    // The thread starts with the first commit past the limit; it then finds no database to open.
    renameSync(path, `${path}.moved`)
    await writeLoop(engine, path, 100)
    expect(logger.entries.map((entry) => entry.message)).toContain(
      "herald sqlite engine: the checkpointer stopped; the WAL is no longer bounded",
    )
    await engine.close()
  })

  it("keeps the WAL near its limit under a write loop", async () => {
    const path = newPath()
    const walLimitBytes = 256 * 1024
    const engine = createSqliteEngine({ path, checkpoint: { everyMs: 5, walLimitBytes } })
    // 3000 commits write well over 12 MB of WAL frames; past the limit, one commit's frames at most.
    expect(await writeLoop(engine, path, 3000)).toBeLessThan(walLimitBytes + 64 * 1024)
    await engine.close()
  })
})
