import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import type { AppendResult, Entry, ReadResult } from "../../src/engine/engine.js"
import { parsePosition, START } from "../../src/engine/position.js"
import { createSqliteEngine } from "../../src/engine/sqlite.js"
import { SQLITE_APPLICATION_ID } from "../../src/engine/sqlite-file.js"
import { DatabaseLockedError } from "../../src/engine/sqlite-lock.js"
import { SQLITE_SCHEMA_VERSION, type V1Update } from "../../src/engine/sqlite-schema.js"
import { TooManyLogsError } from "../../src/engine/too-many-logs.js"
import { recordingLogger } from "../server/helpers.js"
import { v1LastId, writeV1Database } from "./fixtures/v1-database.js"
import { walCommits } from "./sqlite-wal.js"
import { describeEngine } from "./suite.js"

interface RawDatabase {
  prepare(sql: string): {
    get(...params: unknown[]): unknown
    all(...params: unknown[]): unknown[]
    run(...params: unknown[]): unknown
  }
  pragma(sql: string, options?: { simple?: boolean }): unknown
  exec(sql: string): void
  close(): void
}
const Database = createRequire(import.meta.url)("better-sqlite3") as new (path: string) => RawDatabase

const root = mkdtempSync(join(tmpdir(), "herald-sqlite-logs-"))
let files = 0
function newPath(): string {
  return join(root, `db-${files++}`, "herald.db")
}
afterAll(() => rmSync(root, { recursive: true, force: true }))

describeEngine("sqlite", (options) => createSqliteEngine({ path: newPath(), ...options }))

/** Runs `check` on a connection of its own to the file, beside the engine's. */
function inspect<T>(path: string, check: (db: RawDatabase) => T): T {
  const db = new Database(path)
  try {
    return check(db)
  } finally {
    db.close()
  }
}

function rowCount(path: string, table: string): number {
  return inspect(path, (db) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n)
}

function appended(result: AppendResult): readonly Entry[] {
  if (result.status !== "appended") throw new Error(`expected appended, got ${JSON.stringify(result)}`)
  return result.entries
}

function held(result: ReadResult): readonly Entry[] {
  if (!result.held) throw new Error(`expected held, got ${JSON.stringify(result)}`)
  return result.entries
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

/** Turns the event loop until `done` or `turns` have passed (maintenance runs between them). */
async function until(done: () => boolean, turns = 200): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await turn()
}

describe("sqlite engine: a file outlives the process", () => {
  it("keeps logs, epochs, positions, producer states, closure, stop flags, owners and writer seqs across a reopen", async () => {
    const path = newPath()
    const first = createSqliteEngine({ path })
    await first.create("chat/1", { owner: "node-a", meta: { model: "m" }, retention: { maxEntries: 50 } })
    const written = appended(
      await first.append("chat/1", [{ data: "a", key: "k1" }, { data: "b" }], {
        producer: { id: "p", epoch: 3, seq: 0 },
        writerSeq: "0001",
        fence: { owner: "node-a" },
      }),
    )
    await first.requestStop("chat/1")
    await first.append("done/1", [{ data: "end" }], { create: {}, close: true })
    const before = await first.head("chat/1")
    await first.close()

    const second = createSqliteEngine({ path })
    expect(await second.head("chat/1")).toEqual(before)
    expect(held(await second.read("chat/1", START, 10))).toEqual(written)
    expect(await second.locate("chat/1", "k1")).toBe(written[0]?.position)
    // The producer's state came back: a retry is a duplicate, a gap is a gap, the next is taken.
    const retry = await second.append("chat/1", [{ data: "b" }], { producer: { id: "p", epoch: 3, seq: 0 } })
    expect(retry).toMatchObject({ status: "duplicate", lastSeq: 0 })
    expect(
      await second.append("chat/1", [{ data: "c" }], { producer: { id: "p", epoch: 3, seq: 2 } }),
    ).toEqual({
      status: "sequence-gap",
      expectedSeq: 1,
      receivedSeq: 2,
    })
    expect(await second.append("chat/1", [{ data: "c" }], { writerSeq: "0001" })).toEqual({
      status: "writer-seq-conflict",
      lastWriterSeq: "0001",
    })
    expect(await second.append("chat/1", [{ data: "c" }], { fence: { owner: "node-b" } })).toEqual({
      status: "fenced",
      owner: "node-a",
    })
    const next = await second.append("chat/1", [{ data: "c" }], { producer: { id: "p", epoch: 3, seq: 1 } })
    expect(next).toMatchObject({ status: "appended", stopRequested: true })
    expect(appended(next)[0]?.position).toBe(`${before?.epoch}_${"3".padStart(16, "0")}`)
    expect(await second.append("done/1", [{ data: "more" }])).toMatchObject({ status: "closed" })
    expect((await second.list({ limit: 10 })).logs.map((log) => log.name)).toEqual(["chat/1", "done/1"])
    await second.close()
  })

  it("keeps a takeover's owner across a reopen, beside the config the log was created with", async () => {
    const path = newPath()
    const first = createSqliteEngine({ path })
    await first.create("owned", { owner: "node-a", meta: { m: "1" } })
    appended(await first.append("owned", [{ data: "x" }], { fence: { takeOver: "node-b", from: "node-a" } }))
    await first.close()
    const second = createSqliteEngine({ path })
    expect((await second.head("owned"))?.config).toEqual({ owner: "node-b", meta: { m: "1" } })
    expect((await second.create("owned", { owner: "node-a", meta: { m: "1" } })).status).toBe("exists")
    expect(await second.append("owned", [{ data: "y" }], { fence: { owner: "node-a" } })).toEqual({
      status: "fenced",
      owner: "node-b",
    })
    await second.close()
  })

  it("stores the schema it claims: WAL, Herald's application id, version 2; creates the file's directory", async () => {
    const path = join(root, "deep", "er", "herald.db")
    const engine = createSqliteEngine({ path, synchronous: "full" })
    await engine.append("x", [{ data: "x" }], { create: {} })
    inspect(path, (db) => {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal")
      expect(db.pragma("application_id", { simple: true })).toBe(SQLITE_APPLICATION_ID)
      expect(db.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION)
      expect(SQLITE_SCHEMA_VERSION).toBe(2)
    })
    await engine.close()
  })

  it("finds a position and a key with an index seek, whatever the history (query plans)", async () => {
    const path = newPath()
    const engine = createSqliteEngine({ path })
    await engine.append("x", [{ data: "x", key: "k" }], { create: {} })
    await engine.close()
    const plan = (sql: string) =>
      inspect(path, (db) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[])
          .map((row) => row.detail)
          .join("; "),
      )
    expect(
      plan("SELECT seq, data, key, time FROM entries WHERE log = 1 AND seq > 5 ORDER BY seq LIMIT 10"),
    ).toMatch(/SEARCH entries USING INDEX entries_position \(log=\? AND seq>\?\)/)
    expect(
      plan("SELECT seq FROM entries WHERE log = 1 AND key = 'k' AND seq > 5 ORDER BY seq LIMIT 1"),
    ).toMatch(/SEARCH entries USING COVERING INDEX entries_key \(log=\? AND key=\? AND seq>\?\)/)
  })

  it("refuses a file that is not SQLite, another application's database, and another schema version", async () => {
    const text = join(root, "not-sqlite.db")
    writeFileSync(text, "this is a text file, long enough to look like something else ".repeat(20))
    expect(() => createSqliteEngine({ path: text })).toThrow(
      /is not a Herald database \(it is not an SQLite file/,
    )
    const other = join(root, "other-app.db")
    inspect(other, (db) => db.exec("CREATE TABLE users (name TEXT)"))
    expect(() => createSqliteEngine({ path: other })).toThrow(
      /not a Herald database \(it is an SQLite database with tables Herald did not create\)/,
    )
    const future = newPath()
    await createSqliteEngine({ path: future }).close()
    inspect(future, (db) => db.pragma("user_version = 99"))
    expect(() => createSqliteEngine({ path: future })).toThrow(
      /schema version 99; this Herald reads version 2/,
    )
  })

  it("rejects bad options with a clear error", () => {
    expect(() => createSqliteEngine({ path: "" })).toThrow(/options.path/)
    expect(() => createSqliteEngine({ path: newPath(), synchronous: "off" as "full" })).toThrow(/synchronous/)
    expect(() => createSqliteEngine({ path: newPath(), checkpoint: { everyMs: 0 } })).toThrow(
      /checkpoint.everyMs/,
    )
    expect(() => createSqliteEngine({ path: newPath(), maxLogs: 0 })).toThrow(/maxLogs/)
    expect(() => createSqliteEngine({ path: newPath(), retention: { maxEntries: 0 } })).toThrow(
      /retention.maxEntries/,
    )
  })

  it("refuses a second engine on a file in use, naming the lock file and the holder; takes it once released", async () => {
    const path = newPath()
    const first = createSqliteEngine({ path })
    expect(() => createSqliteEngine({ path })).toThrow(DatabaseLockedError)
    expect(() => createSqliteEngine({ path })).toThrow(`${path} is in use by process ${process.pid}`)
    await first.append("kept", [{ data: "kept" }], { create: {} })
    await first.close()
    const second = createSqliteEngine({ path })
    expect(held(await second.read("kept", START, 10)).map((entry) => entry.data)).toEqual(["kept"])
    await second.close()
  })
})

describe("sqlite engine: group commit", () => {
  // The checkpointer is kept idle so that the WAL keeps every commit for walCommits to count.
  const idle = { everyMs: 3_600_000 }

  it("commits appends to many logs that arrive together in one transaction, each caller with its own entries, and hands the feed the same objects", async () => {
    const path = newPath()
    const engine = createSqliteEngine({ path, checkpoint: idle })
    await engine.create("warm", {})
    const delivered = new Map<string, readonly Entry[]>()
    for (let i = 0; i < 10; i++) {
      await engine.watch(`log-${i}`, {
        onAppend: (entries) => delivered.set(`log-${i}`, entries),
        onLost: () => {},
      })
    }
    const before = walCommits(path)
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        engine.append(`log-${i % 10}`, [{ data: `a${i}` }, { data: `b${i}` }], { create: {} }),
      ),
    )
    expect(walCommits(path) - before).toBe(1)
    expect(appended(results[17] as AppendResult).map((entry) => entry.data)).toEqual(["a17", "b17"])
    expect(appended(results[17] as AppendResult).map((entry) => entry.seq)).toEqual([3, 4])
    // The last batch of each log is the very array its watchers received.
    expect(delivered.get("log-3")).toBe(appended(results[93] as AppendResult))
    await engine.close()
  })

  it("fails only the caller whose batch the database refuses; the others of its group commit, and it leaves nothing (state included)", async () => {
    const path = newPath()
    const engine = createSqliteEngine({ path, checkpoint: idle })
    await engine.append("x", [{ data: "first" }], { create: {} })
    inspect(path, (db) =>
      db.exec(
        "CREATE TRIGGER no_poison BEFORE INSERT ON entries WHEN NEW.data = 'poison' BEGIN SELECT RAISE(ABORT, 'injected'); END",
      ),
    )
    const before = walCommits(path)
    const [a, poisoned, c, created] = await Promise.allSettled([
      engine.append("x", [{ data: "a" }]),
      engine.append("x", [{ data: "b" }, { data: "poison" }], { producer: { id: "p", epoch: 0, seq: 0 } }),
      engine.append("x", [{ data: "c" }]),
      engine.append("y", [{ data: "poison" }], { create: {} }),
    ])
    expect(walCommits(path) - before).toBe(1)
    expect(a.status).toBe("fulfilled")
    expect(String((poisoned as PromiseRejectedResult).reason)).toMatch(/injected/)
    expect(c.status).toBe("fulfilled")
    expect(created.status).toBe("rejected")
    expect(held(await engine.read("x", START, 10)).map((entry) => entry.data)).toEqual(["first", "a", "c"])
    expect(held(await engine.read("x", START, 10)).map((entry) => entry.seq)).toEqual([1, 2, 3])
    // The rolled-back caller's producer state and log creation were undone too.
    expect(
      await engine.append("x", [{ data: "d" }], { producer: { id: "p", epoch: 0, seq: 0 } }),
    ).toMatchObject({ status: "appended" })
    expect(await engine.head("y")).toBeUndefined()
    await engine.close()
  })

  it("commits the appends still queued when it closes", async () => {
    const engine = createSqliteEngine({ path: ":memory:" })
    const pending = engine.append("x", [{ data: "last" }], { create: {} })
    await engine.close()
    expect(appended(await pending)[0]?.data).toBe("last")
    await expect(engine.append("x", [{ data: "late" }])).rejects.toThrow(/closed/)
  })
})

describe("sqlite engine: retention, expiry and delete", () => {
  it("answers retention by count exactly before the rows are deleted, then deletes them from the file", async () => {
    const path = newPath()
    const engine = createSqliteEngine({ path, retention: { maxEntries: 100 } })
    for (let i = 0; i < 10; i++) {
      await engine.append(
        "x",
        Array.from({ length: 50 }, (_, j) => ({ data: `${i}.${j}` })),
        { create: {} },
      )
    }
    const entries = held(await engine.read("x", START, 1000))
    expect(entries).toHaveLength(100)
    expect(entries[0]?.seq).toBe(401)
    await until(() => rowCount(path, "entries") <= 150)
    expect(rowCount(path, "entries")).toBeLessThanOrEqual(150)
    expect(rowCount(path, "entries")).toBeGreaterThanOrEqual(100)
    const head = await engine.head("x")
    expect(parsePosition(head?.floor as string)?.seq).toBe(400)
    await engine.close()
  })

  it("trims a large backlog left by a previous run in bounded steps", async () => {
    const path = newPath()
    const big = createSqliteEngine({ path })
    for (let i = 0; i < 3; i++) {
      await big.append(
        "x",
        Array.from({ length: 10_000 }, (_, j) => ({ data: `${i}-${j}` })),
        { create: {} },
      )
    }
    await big.close()
    const small = createSqliteEngine({ path, retention: { maxEntries: 100 } })
    expect(held(await small.read("x", START, 1000))).toHaveLength(100)
    await turn()
    await turn()
    const afterOneStep = rowCount(path, "entries")
    expect(afterOneStep).toBeLessThanOrEqual(30_000 - 10_000)
    expect(afterOneStep).toBeGreaterThan(100)
    await until(() => rowCount(path, "entries") === 100)
    expect(rowCount(path, "entries")).toBe(100)
    await small.close()
  })

  it("ages entries out by the engine's clock, and deletes them without any append", async () => {
    let clock = 1_000_000
    const path = newPath()
    const engine = createSqliteEngine({ path, now: () => clock, retention: { maxAgeMs: 1000 } })
    await engine.append("x", [{ data: "old", key: "k" }], { create: {} })
    clock += 600
    const [newer] = appended(await engine.append("x", [{ data: "new", key: "k" }]))
    clock += 500
    expect(held(await engine.read("x", START, 10)).map((entry) => entry.data)).toEqual(["new"])
    expect(await engine.locate("x", "k")).toBe(newer?.position)
    clock += 1000
    const empty = await engine.read("x", START, 10)
    expect(held(empty)).toEqual([])
    expect(empty.held && parsePosition(empty.after)?.seq).toBe(2)
    expect(await engine.locate("x", "k")).toBeUndefined()
    await engine.close()
    // Reopened later: the age walk at start finds the rows and maintenance deletes them.
    const again = createSqliteEngine({ path, now: () => clock, retention: { maxAgeMs: 1000 } })
    await until(() => rowCount(path, "entries") === 0)
    expect(rowCount(path, "entries")).toBe(0)
    expect(await again.append("x", [{ data: "next" }])).toMatchObject({
      status: "appended",
      tail: expect.stringMatching(/_0+3$/),
    })
    await again.close()
  })

  it("makes a deleted log disappear at once and deletes its entries in bounded batches; the name is free for a new epoch", async () => {
    const path = newPath()
    const engine = createSqliteEngine({ path })
    await engine.append(
      "x",
      Array.from({ length: 25_000 }, (_, i) => ({ data: `${i}`, key: `k${i}` })),
      {
        create: {},
      },
    )
    const old = await engine.head("x")
    let lost = 0
    await engine.watch("x", { onAppend: () => {}, onLost: () => lost++ })
    expect(await engine.delete("x")).toBe(true)
    expect(lost).toBe(1)
    expect(await engine.head("x")).toBeUndefined()
    expect(await engine.read("x", START, 10)).toEqual({ held: false, after: START, reason: "missing" })
    expect(await engine.locate("x", "k1")).toBeUndefined()
    expect(await engine.delete("x")).toBe(false)
    const counts: number[] = []
    await until(() => {
      counts.push(rowCount(path, "entries"))
      return counts[counts.length - 1] === 0
    })
    expect(counts[counts.length - 1]).toBe(0)
    // More than one step: no step deleted more than a batch.
    expect(counts.some((count) => count > 0 && count < 25_000)).toBe(true)
    const recreated = await engine.create("x")
    expect(recreated.status).toBe("created")
    expect(recreated.head.epoch).not.toBe(old?.epoch)
    expect(await engine.read("x", old?.tail as string, 10)).toMatchObject({
      held: false,
      reason: "other-epoch",
    })
    await engine.close()
  })

  it("expires logs by TTL and expiresAt, sweeps them from the file, and writes a sliding TTL moved by reads down on close", async () => {
    let clock = 1_000_000
    const path = newPath()
    const open = () => createSqliteEngine({ path, now: () => clock })
    const engine = open()
    await engine.create("fixed", { expiresAt: clock + 5000 })
    await engine.append("sliding", [{ data: "x" }], { create: { ttlMs: 1000 } })
    let lost = 0
    await engine.watch("fixed", { onAppend: () => {}, onLost: () => lost++ })
    clock += 900
    await engine.read("sliding", START, 1)
    await engine.close()
    clock += 900
    // 1800 ms after the append, 900 after the read: alive, because the read's touch was kept.
    const reopened = open()
    expect(await reopened.head("sliding")).toBeDefined()
    clock += 1001
    expect(await reopened.head("sliding")).toBeUndefined()
    expect(await reopened.append("sliding", [{ data: "y" }])).toEqual({ status: "missing" })
    await reopened.watch("fixed", { onAppend: () => {}, onLost: () => lost++ })
    clock += 5000
    expect((await reopened.list({ limit: 10 })).logs).toEqual([])
    await until(() => rowCount(path, "logs") === 0 && rowCount(path, "entries") === 0)
    expect(rowCount(path, "logs")).toBe(0)
    expect(rowCount(path, "entries")).toBe(0)
    expect(lost).toBe(1)
    await reopened.close()
  })

  it("holds at most maxLogs logs; a deleted or expired one frees its place", async () => {
    let clock = 1_000_000
    const engine = createSqliteEngine({ path: ":memory:", maxLogs: 2, now: () => clock })
    await engine.create("a")
    await engine.append("b", [], { create: { ttlMs: 100 } })
    await expect(engine.create("c")).rejects.toThrow(TooManyLogsError)
    await expect(engine.append("c", [{ data: "x" }], { create: {} })).rejects.toThrow(/maximum of 2 logs/)
    await engine.delete("a")
    expect((await engine.create("c")).status).toBe("created")
    await expect(engine.create("d")).rejects.toThrow(/maximum of 2 logs/)
    clock += 100
    // "b" has expired, though no sweep has run yet.
    expect((await engine.create("d")).status).toBe("created")
    await engine.close()
  })

  it("reports a failed maintenance step to its logger, loses nothing, and keeps serving", async () => {
    const path = newPath()
    const logger = recordingLogger()
    const engine = createSqliteEngine({ path, retention: { maxEntries: 1 }, logger })
    await engine.append("x", [{ data: "first" }], { create: {} })
    inspect(path, (db) =>
      db.exec("CREATE TRIGGER no_delete BEFORE DELETE ON entries BEGIN SELECT RAISE(ABORT, 'injected'); END"),
    )
    await engine.append("x", [{ data: "second" }])
    await engine.append("x", [{ data: "third" }])
    await until(() => logger.entries.length > 0)
    expect(logger.entries[0]?.message).toMatch(/maintenance .* failed/)
    expect(String(logger.entries[0]?.fields.err)).toMatch(/injected/)
    expect(held(await engine.read("x", START, 10)).map((entry) => entry.data)).toEqual(["third"])
    expect(appended(await engine.append("x", [{ data: "fourth" }]))[0]?.seq).toBe(4)
    await engine.close()
  })
})

describe("sqlite engine: migration from schema 1 (Herald 0.1.0)", () => {
  /** A schema-1 file written by the 0.1.0 engine: three updates, one of them typed and private. */
  async function v1File(): Promise<string> {
    const path = newPath()
    mkdirSync(dirname(path), { recursive: true })
    writeV1Database(path, [
      { id: "u1", topics: ["https://example.com/a", "alt"], data: "one", private: false },
      { id: "u2", topics: ["https://example.com/b"], data: "two", private: true, type: "note", retry: 500 },
      { id: "u3", topics: ["https://example.com/a"], data: "three\nlines", private: false },
    ])
    return path
  }

  it("refuses a schema-1 file without `migrate`, saying what to do, and leaves it untouched", async () => {
    const path = await v1File()
    expect(() => createSqliteEngine({ path })).toThrow(
      /is a Herald 0\.1\.0 database \(schema version 1.*`migrate: \{ v1: \{ log, toEntry \} \}`/,
    )
    expect(v1LastId(path)).toBe("u3")
  })

  it("migrates a schema-1 file in place, in order, through the caller's codec; then opens it as schema 2", async () => {
    const path = await v1File()
    const seen: unknown[] = []
    const migrate = {
      v1: {
        log: "hub",
        toEntry: (update: V1Update) => {
          seen.push(update)
          return { data: JSON.stringify(update), key: update.id }
        },
      },
    }
    const engine = createSqliteEngine({ path, migrate })
    expect(seen).toEqual([
      {
        id: "u1",
        topics: ["https://example.com/a", "alt"],
        data: "one",
        private: false,
        time: expect.any(Number),
      },
      {
        id: "u2",
        topics: ["https://example.com/b"],
        data: "two",
        private: true,
        type: "note",
        retry: 500,
        time: expect.any(Number),
      },
      {
        id: "u3",
        topics: ["https://example.com/a"],
        data: "three\nlines",
        private: false,
        time: expect.any(Number),
      },
    ])
    const entries = held(await engine.read("hub", START, 10))
    expect(entries.map((entry) => [entry.seq, entry.key])).toEqual([
      [1, "u1"],
      [2, "u2"],
      [3, "u3"],
    ])
    expect(entries.map((entry) => entry.time)).toEqual(
      seen.map((update) => (update as { time: number }).time),
    )
    expect(await engine.locate("hub", "u2")).toBe(entries[1]?.position)
    expect(appended(await engine.append("hub", [{ data: "four", key: "u4" }]))[0]?.seq).toBe(4)
    await engine.close()
    inspect(path, (db) => {
      expect(db.pragma("user_version", { simple: true })).toBe(2)
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'updates'").get()).toBeUndefined()
    })
    // Schema 2 now: no migration needed, none run.
    const again = createSqliteEngine({ path, migrate })
    expect(seen).toHaveLength(3)
    expect(held(await again.read("hub", START, 10))).toHaveLength(4)
    await again.close()
  })

  it("rolls a failed migration back: the file stays schema 1", async () => {
    const path = await v1File()
    const failing = {
      v1: {
        log: "hub",
        toEntry: (update: V1Update) => {
          if (update.id === "u3") throw new Error("codec broke")
          return { data: update.data }
        },
      },
    }
    expect(() => createSqliteEngine({ path, migrate: failing })).toThrow(/codec broke/)
    inspect(path, (db) => {
      expect(db.pragma("user_version", { simple: true })).toBe(1)
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'logs'").get()).toBeUndefined()
    })
    // And the lock was released with the failure.
    expect(v1LastId(path)).toBe("u3")
  })
})
