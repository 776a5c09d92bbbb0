// Durability of the sqlite engine: an acknowledged append survives `kill -9` of the process.
// A child process appends to two logs and prints each acknowledged entry; the test SIGKILLs it
// mid-stream, then reopens the file and checks that every acknowledged entry is there, in order,
// readable after any of them, and that the producer fences kept their state.
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Engine, Entry } from "../../src/engine/engine.js"
import { START } from "../../src/engine/position.js"
import { createSqliteEngine } from "../../src/engine/sqlite.js"

const here = dirname(fileURLToPath(import.meta.url))
const project = join(here, "..", "..")
const writer = join(here, "fixtures", "sqlite-writer.mjs")
// The bundle lives under node_modules so the child resolves better-sqlite3 (kept external: it is
// a native module) and pino (the engines' default logger; CommonJS that an ESM bundle cannot
// require Node built-ins from) from the project's own node_modules.
const bundleDir = join(project, "node_modules", ".cache", "herald-test")
const bundle = join(bundleDir, `engine-sqlite-${process.pid}.mjs`)
const root = mkdtempSync(join(tmpdir(), "herald-crash-logs-"))

beforeAll(async () => {
  mkdirSync(bundleDir, { recursive: true })
  // The child runs plain JavaScript: bundle the engine from source (fast, unlike a full tsc build).
  await build({
    entryPoints: [join(project, "src", "engine", "sqlite.ts")],
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

/** An acknowledged entry as the writer printed it. */
interface Acknowledged {
  readonly log: string
  readonly key: string
  readonly producerSeq: number
}

/** Runs the writer until it has acknowledged `killAfter` entries, then SIGKILLs it. */
async function runAndKill(path: string, killAfter: number): Promise<Acknowledged[]> {
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
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once("close", (_code, signal) => resolve(signal)),
  )
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
    if (!killed && stdout.split("\n").length > killAfter) {
      killed = true
      child.kill("SIGKILL")
    }
  })
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000)
  const signal = await exited
  clearTimeout(timer)
  if (!killed) throw new Error(`the writer ended before it was killed (${String(signal)}): ${stderr}`)
  expect(signal).toBe("SIGKILL")
  // Only complete lines are acknowledged; a torn last line is not.
  const lines = stdout.split("\n")
  lines.pop()
  return lines.map((line) => {
    const [log, key, producerSeq] = line.split(" ")
    return { log: log as string, key: key as string, producerSeq: Number(producerSeq) }
  })
}

async function readAll(engine: Engine, log: string): Promise<Entry[]> {
  const entries: Entry[] = []
  let after = START
  for (let page = 0; page < 1000; page++) {
    const result = await engine.read(log, after, 5000)
    if (!result.held) throw new Error(`${log} not held: ${result.reason}`)
    entries.push(...result.entries)
    if (!result.more) break
    after = (entries[entries.length - 1] as Entry).position
  }
  return entries
}

describe("sqlite engine durability", () => {
  it("keeps every acknowledged append after kill -9, in order, with its producer state, and resumes from any of them", async () => {
    for (const [round, killAfter] of [500, 3000, 12_000].entries()) {
      const path = join(root, `round-${round}`, "herald.db")
      const acknowledged = await runAndKill(path, killAfter)
      expect(acknowledged.length).toBeGreaterThanOrEqual(killAfter)
      const engine = createSqliteEngine({ path })
      try {
        for (const log of ["a", "b"]) {
          const mine = acknowledged.filter((entry) => entry.log === log)
          const entries = await readAll(engine, log)
          // Everything acknowledged is there, first and in order, numbered from 1 with no hole;
          // at most the unacknowledged batch (committing when the kill landed) follows.
          expect(entries.length).toBeGreaterThanOrEqual(mine.length)
          expect(entries.slice(0, mine.length).map((entry) => entry.key)).toEqual(
            mine.map((entry) => entry.key),
          )
          expect(entries.length - mine.length).toBeLessThanOrEqual(5)
          expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, i) => i + 1))
          // A client that saw an acknowledged entry resumes right after it.
          const seen = entries[mine.length - 10] as Entry
          const resumed = await engine.read(log, seen.position, 1)
          expect(resumed.held && resumed.entries[0]?.key).toBe(mine[mine.length - 9]?.key)
          // The producer's last acknowledged append is a duplicate when retried.
          const last = mine[mine.length - 1] as Acknowledged
          const retry = await engine.append(log, [{ data: "retry" }], {
            producer: { id: `writer-${log}`, epoch: 1, seq: last.producerSeq },
          })
          expect(retry.status).toBe("duplicate")
          // The reopened file takes new appends after the old ones.
          const next = await engine.append(log, [{ data: "after the crash" }])
          expect(next.status === "appended" && next.entries[0]?.seq).toBe(entries.length + 1)
        }
      } finally {
        await engine.close()
      }
    }
  }, 90_000)
})
