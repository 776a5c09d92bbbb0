// `herald serve` refuses a data directory it cannot use at start, in one line that says what to
// fix: never a hub that reports ready and then fails every write.

import { chmodSync, chownSync, mkdirSync, readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { createSqliteEngine } from "../../src/engine/sqlite.js"
import { heraldDone, tempCwd, useCliProcesses } from "./cli-helpers.js"

useCliProcesses()

const KEY = { HERALD_JWT_KEY: "a-production-secret-of-at-least-32-bytes!" }
const SERVE = ["serve", "--engine", "sqlite", "--data-dir", "./data", "--port", "0", "--no-dev"]

/** `nobody`: root writes through a mode of 444, so a read-only file is only read-only to another user. */
const UNPRIVILEGED = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}

/** A working directory holding a Herald database in ./data, owned by the user the hub runs as. */
async function withDatabase(): Promise<{ cwd: string; dir: string }> {
  const cwd = tempCwd()
  const dir = join(cwd, "data")
  mkdirSync(dir)
  await createSqliteEngine({ path: join(dir, "herald.db") }).close()
  if (UNPRIVILEGED.uid !== undefined) {
    for (const path of [cwd, dir, ...readdirSync(dir).map((name) => join(dir, name))])
      chownSync(path, UNPRIVILEGED.uid, UNPRIVILEGED.gid)
  }
  return { cwd, dir }
}

/** One line that says what to do: a stack would bury it. */
function expectOneLine(stdout: string, message: string): void {
  expect(stdout).toContain(message)
  expect(stdout).not.toMatch(/\\n\s+at |"stack"/)
  expect(stdout).not.toContain("listening on")
}

describe("herald serve's data directory", () => {
  it("refuses a database file it may only read, naming it (exit 1)", async () => {
    const { cwd, dir } = await withDatabase()
    chmodSync(join(dir, "herald.db"), 0o444)
    const { code, stdout } = await heraldDone(SERVE, { cwd, env: KEY, ...UNPRIVILEGED })
    expect(code).toBe(1)
    expectOneLine(
      stdout,
      `${join(dir, "herald.db")} is not writable by this process: attempt to write a readonly database; fix its permissions or pick another --data-dir`,
    )
  })

  it("refuses a lock file it may only read, naming it (exit 1)", async () => {
    const { cwd, dir } = await withDatabase()
    chmodSync(join(dir, "herald.db.lock"), 0o444)
    const { code, stdout } = await heraldDone(SERVE, { cwd, env: KEY, ...UNPRIVILEGED })
    expect(code).toBe(1)
    expectOneLine(stdout, `${join(dir, "herald.db.lock")} is not writable by this process`)
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
