// What the memory engine's maxBytes holds back: the hub's updates, text past Latin-1 counted as
// V8 holds it (two bytes a character), with the SSE frame the hub keeps per held update (built
// once for every subscriber) on top. Measured in a process of its own (the built library,
// `node --expose-gc`) on a memory engine filled to its bound.
import { execFileSync } from "node:child_process"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { useCliProcesses } from "../cli/cli-helpers.js"

useCliProcesses()

const DIST = join(import.meta.dirname, "..", "..", "dist")

describe("the hub's updates on the memory engine", () => {
  it("hold about twice the engine's maxBytes once it is full, in any script: the entries and their frames", () => {
    const script = `
      const { createMemoryEngine } = await import(${JSON.stringify(join(DIST, "engine", "index.js"))})
      const { openUpdateLog } = await import(${JSON.stringify(join(DIST, "hub", "update-log.js"))})
      const settle = async () => {
        for (let round = 0; round < 3; round++) {
          globalThis.gc()
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
      await settle()
      const before = process.memoryUsage().heapUsed
      const updates = openUpdateLog(createMemoryEngine({ maxBytes: 32 * 1024 * 1024 }))
      let stored = 0
      for (;;) {
        try {
          await updates.append([{ topics: ["t"], data: String(stored).padEnd(250_000, "中") }])
          stored++
        } catch {
          break
        }
      }
      await settle()
      process.stdout.write(JSON.stringify({ stored, held: process.memoryUsage().heapUsed - before }))`
    const { stored, held } = JSON.parse(
      execFileSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script], {
        encoding: "utf8",
      }),
    ) as { stored: number; held: number }
    expect(stored).toBeGreaterThan(30)
    expect(held).toBeLessThan(2.5 * 32 * 1024 * 1024)
  })
})
