// One process per database file, with real processes: a second `herald serve` on a data dir in
// use is refused at start (exit 1, naming the lock file and the holder's PID); once the holder
// is killed with SIGKILL, the kernel has released its lock and a new one starts at once.
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { herald, heraldDone, startHub, tempCwd, useCliProcesses } from "../cli/cli-helpers.js"

useCliProcesses()

describe("sqlite engine: one process per database file", () => {
  it("refuses a second herald serve on the same data dir, and lets a new one start right after kill -9 of the holder", async () => {
    const cwd = tempCwd()
    const lockFile = join(cwd, "herald-data", "herald.db.lock")
    const holder = await startHub(["--port", "0"], { cwd })

    const refused = await heraldDone(["serve", "--port", "0"], { cwd })
    expect(refused.code).toBe(1)
    expect(refused.stdout).toContain(`is in use by process ${holder.child.pid}`)
    expect(refused.stdout).toContain(`its lock file is ${lockFile}`)

    holder.child.kill("SIGKILL")
    expect(await holder.exited).toBe("SIGKILL")
    const started = Date.now()
    const next = await startHub(["--port", "0"], { cwd })
    // No stale lock to wait out: the kernel released it with the killed process.
    expect(Date.now() - started).toBeLessThan(10_000)
    next.child.kill("SIGTERM")
    expect(await next.exited).toBe(0)
  })
  it("lets exactly one of several herald serve started at once take the file; the others name it", async () => {
    const cwd = tempCwd()
    const options = { cwd, env: { HERALD_JWT_KEY: "a-production-secret-of-at-least-32-bytes!" } }
    const starters = Array.from({ length: 5 }, () => herald(["serve", "--port", "0", "--no-dev"], options))
    const outcomes = await Promise.all(
      starters.map((run) =>
        run
          .waitFor(/listening on|is in use by/)
          .then(() => (run.stdout().includes("listening on") ? "held" : "refused")),
      ),
    )
    expect(outcomes.filter((outcome) => outcome === "held")).toHaveLength(1)
    const holder = starters[outcomes.indexOf("held")]
    for (const [i, run] of starters.entries()) {
      if (run === holder) continue
      expect(await run.exited).toBe(1)
      // The holder's row may not be readable yet while it writes it; never another process's.
      const named = /is in use by process (\d+)/.exec(starters[i]?.stdout() ?? "")?.[1]
      if (named !== undefined) expect(Number(named)).toBe(holder?.child.pid)
    }
    holder?.child.kill("SIGTERM")
    expect(await holder?.exited).toBe(0)
  })
})
