// `herald serve` refuses a data directory it cannot use at start, in one line that says what to
// fix: never a hub that reports ready and then fails every write.

import { execFileSync } from "node:child_process"
import { chmodSync, mkdirSync, statSync, writeFileSync } from "node:fs"
import { userInfo } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { createSqliteEngine } from "../../src/engine/sqlite.js"
import { heraldDone, tempCwd, useCliProcesses } from "./cli-helpers.js"

useCliProcesses()

const KEY = { HERALD_JWT_KEY: "a-production-secret-of-at-least-32-bytes!" }
const SERVE = ["serve", "--engine", "sqlite", "--data-dir", "./data", "--port", "0", "--no-dev"]

/** A working directory holding a Herald database in ./data. */
async function withDatabase(): Promise<{ cwd: string; dir: string }> {
  const cwd = tempCwd()
  const dir = join(cwd, "data")
  mkdirSync(dir)
  await createSqliteEngine({ path: join(dir, "herald.db") }).close()
  return { cwd, dir }
}

/**
 * Makes `path` (a file, or a directory: no file can be created in it) read-only to this user
 * until the returned function undoes it. Root writes through a mode of 444 (555), so as root the
 * path is bound read-only over itself (a read-only mount stops root too); running the hub as
 * another user instead would need it to reach the checkout.
 */
function readOnly(path: string): () => void {
  if (process.getuid?.() !== 0) {
    const mode = statSync(path).mode & 0o777
    chmodSync(path, statSync(path).isDirectory() ? 0o555 : 0o444)
    return () => chmodSync(path, mode)
  }
  execFileSync("mount", ["--bind", path, path])
  execFileSync("mount", ["-o", "remount,ro,bind", path])
  return () => execFileSync("umount", [path])
}

/** One line that says what to do: a stack would bury it. */
function expectOneLine(stdout: string, message: string): void {
  expect(stdout).toContain(message)
  expect(stdout).not.toMatch(/\\n\s+at |"stack"/)
  expect(stdout).not.toContain("listening on")
}

describe("herald serve's data directory", () => {
  it.each([
    {
      file: "herald.db",
      says: (dir: string) =>
        `${join(dir, "herald.db")} is not writable by this process: attempt to write a readonly database; fix its permissions or pick another --data-dir`,
    },
    {
      file: "herald.db.lock",
      says: (dir: string) => `${join(dir, "herald.db.lock")} is not writable by this process`,
    },
  ])("refuses a $file it may only read, naming it (exit 1)", async ({ file, says }) => {
    const { cwd, dir } = await withDatabase()
    const writable = readOnly(join(dir, file))
    try {
      const { code, stdout } = await heraldDone(SERVE, { cwd, env: KEY })
      expect(code).toBe(1)
      expectOneLine(stdout, says(dir))
    } finally {
      writable()
    }
  })

  it("refuses a data directory it may not create files in, naming it and the user (exit 1)", async () => {
    const cwd = tempCwd()
    const dir = join(cwd, "data")
    mkdirSync(dir)
    const writable = readOnly(dir)
    try {
      const { code, stdout } = await heraldDone(SERVE, { cwd, env: KEY })
      expect(code).toBe(1)
      const user = `user ${userInfo().username} (uid ${process.getuid?.()})`
      // EACCES for a mode of 555, EROFS for root's read-only mount.
      const errno = /may not create files in it \((E[A-Z]+)\)/.exec(stdout)?.[1]
      expect(["EACCES", "EROFS"]).toContain(errno)
      expectOneLine(
        stdout,
        `${dir} is not writable by this process: ${user} may not create files in it (${errno}), which SQLite needs to open herald.db.lock; fix its permissions or pick another --data-dir`,
      )
    } finally {
      writable()
    }
  })

  it("a database file that is not Herald's: what it is and what to do, in one line (exit 1)", async () => {
    const cwd = tempCwd()
    mkdirSync(join(cwd, "data"))
    writeFileSync(join(cwd, "data", "herald.db"), "hello\n")
    const { code, stdout } = await heraldDone(SERVE, { cwd, env: KEY })
    expect(code).toBe(1)
    expectOneLine(
      stdout,
      `${join(cwd, "data", "herald.db")} is not a Herald database (it is not an SQLite file at all); move it aside, or pick another --data-dir`,
    )
  })

  it("a data directory that is a file: the system's reason in one line (exit 1)", async () => {
    const cwd = tempCwd()
    writeFileSync(join(cwd, "data"), "")
    const { code, stdout } = await heraldDone(SERVE, { cwd, env: KEY })
    expect(code).toBe(1)
    expectOneLine(
      stdout,
      `cannot open the sqlite engine in ${join(cwd, "data")}: EEXIST: file already exists, mkdir '${join(cwd, "data")}'; fix that, or pick another --data-dir`,
    )
  })
})
