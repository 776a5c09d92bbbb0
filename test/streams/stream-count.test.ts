// The maxStreams count of one node: places are taken as creates pass the check, a create that
// finishes while the engine is being recounted is not lost from the count, and creates at the
// bound share one recount: those at once wait for the one in flight, later ones reuse it.
import { describe, expect, it } from "vitest"
import type { Engine, LogHead } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createStreamCount, RECOUNT_REUSE_MS, type StreamPlace } from "../../src/streams/stream-count.js"

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
    let clock = 0
    const count = createStreamCount(engine, 3, () => clock)
    const first = count.reserve(none)
    answer()
    const places = [await first, await count.reserve(none), await count.reserve(none)]
    clock += RECOUNT_REUSE_MS
    // At the bound, the last recount aged: the next create recounts, and one of the three finishes meanwhile, after the
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
    let clock = 0
    const count = createStreamCount(engine, 1, () => clock)
    let asked = 0
    const exists = async () => {
      asked++
      return true
    }
    const first = count.reserve(exists)
    answer()
    ;(await first).created()
    expect(asked).toBe(0)
    clock += RECOUNT_REUSE_MS
    const again = count.reserve(exists)
    answer([{} as LogHead])
    const place = await again
    expect(asked).toBe(1)
    place.release()
    clock += RECOUNT_REUSE_MS
    const other = count.reserve(none)
    answer([{} as LogHead])
    await expect(other).rejects.toMatchObject({ status: 429 })
  })

  it("makes one listing for creates at once at the bound, reuses it for a while (429 from it), and lets no more than the bound pass", async () => {
    const engine = createMemoryEngine()
    for (const path of ["a", "b", "c"]) await engine.create(`streams:/v1/stream/${path}`)
    let lists = 0
    const counted = new Proxy(engine, {
      get(target, property) {
        const value = Reflect.get(target, property, target)
        if (property === "list") {
          return (...args: Parameters<Engine["list"]>) => {
            lists++
            return target.list(...args)
          }
        }
        return typeof value === "function" ? value.bind(target) : value
      },
    })
    let clock = 0
    const count = createStreamCount(counted, 5, () => clock)
    const creates = await Promise.allSettled(Array.from({ length: 10 }, () => count.reserve(none)))
    expect(lists).toBe(1)
    // Two places were free: two creates took them, the others were refused from the same count.
    expect(creates.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(2)
    expect(creates.filter((outcome) => outcome.status === "rejected")).toHaveLength(8)
    let made = 0
    const make = async (place: StreamPlace) => {
      await engine.create(`streams:/v1/stream/new-${made++}`)
      place.created()
    }
    for (const outcome of creates) if (outcome.status === "fulfilled") await make(outcome.value)

    // Within a while of the recount, creates at the bound are refused from it.
    await expect(count.reserve(none)).rejects.toMatchObject({ status: 429 })
    clock += RECOUNT_REUSE_MS - 1
    await expect(count.reserve(none)).rejects.toMatchObject({ status: 429 })
    expect(lists).toBe(1)
    // A delete on this node since the recount makes room without another.
    await engine.delete("streams:/v1/stream/a")
    count.deleted()
    await make(await count.reserve(none))
    expect(lists).toBe(1)
    // Then the count is recounted again, once for creates at once.
    clock += 1
    const later = await Promise.allSettled([count.reserve(none), count.reserve(none)])
    expect(later.map((outcome) => outcome.status)).toEqual(["rejected", "rejected"])
    expect(lists).toBe(2)
    await engine.close()
  })
})
