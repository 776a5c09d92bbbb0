// A channel history holds what its bounds say, not the frames it has evicted: measured in a
// process of its own (the built library, `node --expose-gc`), where a collection shows what is
// still reachable.
import { execFileSync } from "node:child_process"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { useCliProcesses } from "../cli/cli-helpers.js"

useCliProcesses()

const LIBRARY = join(import.meta.dirname, "..", "..", "dist", "server", "index.js")

describe("herald/server's event history", () => {
  it("lets evicted frames go: 600 frames of 256 KiB through a 1 MiB history hold about 1 MiB", () => {
    const script = `
      const { createEventHistory } = await import(${JSON.stringify(LIBRARY)})
      const history = createEventHistory({ maxBytes: 1024 * 1024 })
      for (let i = 0; i < 600; i++) history.append(String(i), new Uint8Array(256 * 1024).fill(i % 251))
      // V8 frees array buffers' memory on a thread of its own after a collection: give it time.
      for (let round = 0; round < 3; round++) {
        globalThis.gc()
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      process.stdout.write(String(process.memoryUsage().arrayBuffers))`
    const held = Number(execFileSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", script]))
    expect(held).toBeLessThan(16 * 1024 * 1024)
  })
})
