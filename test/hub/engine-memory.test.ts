import { describe, expect, it } from "vitest"
import { EARLIEST } from "../../src/hub/engine/engine.js"
import { createMemoryEngine } from "../../src/hub/engine/memory.js"
import { describeEngine, found, update } from "./engine-suite.js"

describeEngine("memory", (options) => createMemoryEngine(options))

describe("memory engine", () => {
  it("is bounded by default: 10 000 updates", async () => {
    const engine = createMemoryEngine()
    for (let i = 0; i < 10_500; i += 500) {
      await engine.append(Array.from({ length: 500 }, (_, j) => update(`e${i + j}`, { id: `n${i + j}` })))
    }
    expect(await engine.readAfter("n499", 1)).toEqual({ found: false })
    expect(found(await engine.readAfter(EARLIEST, 1))[0]?.id).toBe("n500")
    await engine.close()
  })

  it("is bounded by default: one hour", async () => {
    let clock = 0
    const engine = createMemoryEngine({ now: () => clock })
    await engine.append([update("a", { id: "a" })])
    clock = 60 * 60 * 1000
    expect(found(await engine.readAfter(EARLIEST, 1))).toHaveLength(1)
    clock += 1
    expect(await engine.readAfter("a", 1)).toEqual({ found: false })
    await engine.close()
  })

  it("hands listeners the very objects append resolves with", async () => {
    const engine = createMemoryEngine()
    let heard: unknown
    engine.listen((batch) => {
      heard = batch[0]
    })
    const [stored] = await engine.append([update("x")])
    expect(heard).toBe(stored)
    await engine.close()
  })
})
