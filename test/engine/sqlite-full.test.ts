// The sqlite engine on a full disk: a write SQLite refuses for want of room (SQLITE_FULL) rejects
// with a StorageFullError naming the file, and so does the rest of its group (SQLite rolls the
// whole transaction back), reads go on, health() says `full` until writes work again, and the
// log says it once as it starts and once as it ends.
// The disk is filled by capping the engine's own connection (`max_page_count`, which fails the
// statement that needs one more page; a full disk fails the commit, in WAL mode: both are mapped
// in the same place).
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it, vi } from "vitest"
import { START } from "../../src/engine/position.js"
import { createSqliteEngine } from "../../src/engine/sqlite.js"
import type { Database } from "../../src/engine/sqlite-driver.js"
import { StorageFullError } from "../../src/engine/storage-full.js"
import { recordingLogger } from "../server/helpers.js"

/** Every connection the engine opens, by path: the test reaches the engine's own. */
const connections = vi.hoisted(() => new Map<string, unknown>())
vi.mock(import("../../src/engine/sqlite-driver.js"), async (importOriginal) => {
  const driver = await importOriginal()
  return {
    ...driver,
    openDatabase(path: string, options?: { timeout?: number }) {
      const db = driver.openDatabase(path, options)
      connections.set(path, db)
      return db
    },
  }
})

const root = mkdtempSync(join(tmpdir(), "herald-sqlite-full-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** Lets the file at `path` grow by no page; the returned function lifts the cap. */
function fillDisk(path: string): () => void {
  const db = connections.get(path) as Database
  const cap = db.pragma("max_page_count", { simple: true }) as number
  db.pragma(`max_page_count = ${db.pragma("page_count", { simple: true }) as number}`)
  return () => db.pragma(`max_page_count = ${cap}`)
}

/** More than a page can hold: it needs new pages. */
const BIG = "x".repeat(64 * 1024)

describe("the sqlite engine on a full disk", () => {
  it("rejects the writes of a group that finds no room with a StorageFullError naming the file, goes on reading, and says it once", async () => {
    const path = join(root, "a", "herald.db")
    const logger = recordingLogger()
    let clock = 1_000_000
    const engine = createSqliteEngine({ path, logger, now: () => clock })
    await engine.append("x", [{ data: "first" }], { create: {} })
    expect(await engine.health()).toMatchObject({ status: "up" })
    const free = fillDisk(path)

    // Committed together: SQLite rolls the whole transaction back, so neither is stored.
    const group = await Promise.allSettled([
      engine.append("x", [{ data: "small" }]),
      engine.append("x", [{ data: BIG }]),
    ])
    for (const outcome of group) {
      const refusal = (outcome as PromiseRejectedResult).reason as StorageFullError
      expect(refusal).toBeInstanceOf(StorageFullError)
      expect(refusal.store).toBe(`the disk holding ${path}`)
      expect(refusal.message).toBe(
        `sqlite engine: the disk holding ${path} is full, so nothing was stored; free space on it, or keep less (a lower retention).`,
      )
    }
    const read = await engine.read("x", START, 10)
    expect(read.held && read.entries.map((entry) => entry.data)).toEqual(["first"])
    expect(await engine.health()).toMatchObject({
      status: "full",
      reason: `the disk holding ${path} is full: writes fail until it has room again (free space on it, or keep less: a lower retention); reads are served`,
    })

    // The outage goes on: more refusals, and a small write that fits, are logged at debug only.
    await expect(engine.append("x", [{ data: BIG }])).rejects.toBeInstanceOf(StorageFullError)
    await engine.append("x", [{ data: "fits" }])
    await expect(engine.append("y", [{ data: BIG }], { create: {} })).rejects.toBeInstanceOf(StorageFullError)
    const said = logger.entries.filter(({ level }) => level !== "debug")
    expect(said.map(({ level, message }) => ({ level, message }))).toEqual([
      {
        level: "error",
        message: `herald sqlite engine: the disk holding ${path} is full: writes fail until it has room again (free space on it, or keep less: a lower retention); reads go on`,
      },
    ])
    expect(said[0]?.fields.err).toBe("database or disk is full")

    // Room again: writes succeed at once, and the engine says so once none has failed for 30 s
    // (a small write fits where a large one did not, so one success alone proves little).
    free()
    await engine.append("x", [{ data: BIG }])
    expect((await engine.health()).status).toBe("full")
    clock += 30_000
    await engine.append("x", [{ data: "later" }])
    expect((await engine.health()).status).toBe("up")
    expect(logger.entries.at(-1)).toMatchObject({
      level: "info",
      message: `herald sqlite engine: writes work again: the disk holding ${path} has room`,
    })
    await engine.close()
  })

  it("says up after the hold only once a write has committed: a group that changed nothing proves nothing", async () => {
    const path = join(root, "b", "herald.db")
    let clock = 1_000_000
    const engine = createSqliteEngine({ path, logger: recordingLogger(), now: () => clock })
    await engine.create("x")
    const free = fillDisk(path)
    await expect(engine.append("x", [{ data: BIG }])).rejects.toBeInstanceOf(StorageFullError)
    free()
    clock += 30_000
    // A delete of a log that is not there commits nothing.
    expect(await engine.delete("missing")).toBe(false)
    expect((await engine.health()).status).toBe("full")
    await engine.append("x", [{ data: "written" }])
    expect((await engine.health()).status).toBe("up")
    await engine.close()
  })
})
