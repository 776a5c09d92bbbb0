// Durability of the sqlite engine: an acknowledged append survives `kill -9` of the process.
// A child process appends and prints each acknowledged id; the test SIGKILLs it mid-stream, then
// reopens the file and checks that every acknowledged id is there, in order, and resumable.
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { EARLIEST, type StoredUpdate } from "../../src/hub/engine/engine.js"
import { createSqliteEngine } from "../../src/hub/engine/sqlite.js"

const here = dirname(fileURLToPath(import.meta.url))
const project = join(here, "..", "..")
const writer = join(here, "fixtures", "engine-sqlite-writer.mjs")
// The bundle lives under node_modules so the child resolves better-sqlite3 (kept external: it is
// a native module) and pino (the engines' default logger; CommonJS that an ESM bundle cannot
// require Node built-ins from) from the project's own node_modules.
const bundleDir = join(project, "node_modules", ".cache", "herald-test")
const bundle = join(bundleDir, `engine-${process.pid}.mjs`)
const root = mkdtempSync(join(tmpdir(), "herald-crash-"))

beforeAll(async () => {
  mkdirSync(bundleDir, { recursive: true })
  // The child runs plain JavaScript: bundle the engine from source (fast, unlike a full tsc build).
  await build({
    entryPoints: [join(project, "src", "hub", "engine", "index.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["better-sqlite3", "pino"],
    outfile: bundle,
    logLevel: "silent",
  })
})

afterAll(() => {
  rmSync(root, { recursive: true, force: true })
  rmSync(bundle, { force: true })
})

/** Runs the writer until it has acknowledged `killAfter` ids, then SIGKILLs it. */
async function runAndKill(path: string, killAfter: number): Promise<string[]> {
  const child = spawn(process.execPath, [writer, bundle, path, "1000000"], {
    stdio: ["ignore", "pipe", "pipe"],
  })
  let stdout = ""
  let stderr = ""
  let killed = false
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk
  })
  // "close", not "exit": only then has everything the child wrote been read from its pipe.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal })),
  )
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
    if (!killed && stdout.split("\n").length > killAfter) {
      killed = true
      child.kill("SIGKILL")
    }
  })
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000)
  const { signal } = await exited
  clearTimeout(timer)
  if (!killed) throw new Error(`the writer ended before it was killed (${String(signal)}): ${stderr}`)
  expect(signal).toBe("SIGKILL")
  // Only complete lines are acknowledged ids; a torn last line is not.
  const lines = stdout.split("\n")
  lines.pop()
  return lines
}

describe("sqlite engine durability", () => {
  it("keeps every acknowledged append after kill -9, in order, and resumes from any of them", async () => {
    for (const [round, killAfter] of [500, 3000, 12_000].entries()) {
      const path = join(root, `round-${round}`, "herald.db")
      const acknowledged = await runAndKill(path, killAfter)
      expect(acknowledged.length).toBeGreaterThanOrEqual(killAfter)
      const engine = createSqliteEngine({ path })
      try {
        const held: StoredUpdate[] = []
        let page = await engine.readAfter(EARLIEST, 5000)
        while (page.found) {
          held.push(...page.updates)
          if (!page.more) break
          page = await engine.readAfterSeq(held[held.length - 1]?.seq as number, 5000)
        }
        // Everything acknowledged is there, first and in order; at most the unacknowledged tail
        // (the transaction committing when the kill landed) follows.
        expect(held.length).toBeGreaterThanOrEqual(acknowledged.length)
        expect(held.slice(0, acknowledged.length).map((u) => u.id)).toEqual(acknowledged)
        expect(held.length - acknowledged.length).toBeLessThanOrEqual(5)
        expect(held.map((u) => u.id)).toEqual(held.map((_, i) => `crash-${i}`))
        // A client that saw an acknowledged id resumes right after it.
        const cursor = acknowledged[acknowledged.length - 10] as string
        const resumed = await engine.readAfter(cursor, 20)
        expect(resumed.found && resumed.updates[0]?.id).toBe(acknowledged[acknowledged.length - 9])
        // The reopened file takes new appends after the old ones.
        const [next] = await engine.append([{ topics: ["t"], data: "after the crash", private: false }])
        expect(next?.seq).toBeGreaterThan(held[held.length - 1]?.seq as number)
      } finally {
        await engine.close()
      }
    }
  }, 90_000)
})
