// The maxStreams count of one node: places are taken as creates pass the check, and a create
// that finishes while the engine is being recounted is not lost from the count.
import { describe, expect, it } from "vitest"
import type { Engine, LogHead } from "../../src/engine/engine.js"
import { createStreamCount } from "../../src/streams/stream-count.js"

/** An engine whose listing the test answers: each `list` waits for `answer(logs)`. */
function listedEngine() {
  const waiting: ((logs: LogHead[]) => void)[] = []
  const engine = {
    list: () =>
      new Promise((resolve) => {
        waiting.push((logs) => resolve({ logs, next: undefined }))
      }),
  } as unknown as Engine
  const answer = (logs: LogHead[] = []) => (waiting.shift() as (logs: LogHead[]) => void)(logs)
  return { engine, answer, waiting: () => waiting.length }
}

const none = async () => false

describe("the maxStreams count", () => {
  it("counts a create that finished while the engine was listed, so that no more streams than the bound pass", async () => {
    const { engine, answer, waiting } = listedEngine()
    const count = createStreamCount(engine, 3)
    const first = count.reserve(none)
    answer()
    const places = [await first, await count.reserve(none), await count.reserve(none)]
    // At the bound: the next create recounts, and one of the three finishes meanwhile, after the
    // engine answered the listing without it.
    const fourth = count.reserve(none)
    expect(waiting()).toBe(1)
    places[0]?.created()
    answer()
    await expect(fourth).rejects.toMatchObject({ status: 429 })
    places[1]?.created()
    places[2]?.release()
    // Two streams made, one place given back: one more fits, without a recount, and no other.
    await expect(count.reserve(none)).resolves.toBeDefined()
    expect(waiting()).toBe(0)
  })

  it("gives a place at the bound to a create of a stream that exists, and asks only at the bound", async () => {
    const { engine, answer } = listedEngine()
    const count = createStreamCount(engine, 1)
    let asked = 0
    const exists = async () => {
      asked++
      return true
    }
    const first = count.reserve(exists)
    answer()
    ;(await first).created()
    expect(asked).toBe(0)
    const again = count.reserve(exists)
    answer([{} as LogHead])
    const place = await again
    expect(asked).toBe(1)
    place.release()
    const other = count.reserve(none)
    answer([{} as LogHead])
    await expect(other).rejects.toMatchObject({ status: 429 })
  })
})
