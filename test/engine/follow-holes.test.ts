// follow() ending with a gap when a hole in its feed cannot be filled: a scripted source whose
// reads never find the entry missing (a store that lost it) answers as the engine would, so that
// the order of the feed and the reads is exact. The suite checks that a hole is read again when
// the read that found nothing may have run before the entries the feed then brought.
import { describe, expect, it } from "vitest"
import type { Entry, ReadResult } from "../../src/engine/engine.js"
import { follow } from "../../src/engine/follow.js"
import { formatPosition } from "../../src/engine/position.js"
import { collect, scriptedSource } from "./scripted-source.js"

const EPOCH = "aaaaaaaa"
const entry = (seq: number): Entry => ({
  position: formatPosition(EPOCH, seq),
  seq,
  time: 0,
  data: String(seq),
  key: undefined,
})

/** A log that holds 1-3 and, whenever read, nothing after 3: 4 is lost, 5 was stored after it. */
function logMissingFour(duringRead: (reads: number) => void) {
  let reads = 0
  const scripted = scriptedSource(
    async () => undefined,
    async (): Promise<ReadResult> => {
      reads++
      duringRead(reads)
      const at = formatPosition(EPOCH, 3)
      return { held: true, after: at, entries: [], more: false, tail: at, closed: false }
    },
  )
  return { ...scripted, reads: () => reads }
}

describe("follow ends with a gap at a hole its reads cannot fill", () => {
  it("at once when the entry after the hole was held before the read that found nothing", async () => {
    const { source, sink, reads } = logMissingFour(() => {})
    let ended: string | undefined
    const follower = await follow(source, "log", formatPosition(EPOCH, 3), {
      onEnd: (reason) => (ended = reason),
    })
    const { entries: delivered, started } = collect(follower)
    await started
    sink().onAppend([entry(5)], false)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(ended).toBe("gap")
    expect(delivered).toEqual([])
    // The open's read, then the hole's.
    expect(reads()).toBe(2)
  })

  it("after one more read when it came while the read that found nothing was under way", async () => {
    let feed = () => {}
    const { source, sink, reads } = logMissingFour((count) => {
      if (count === 2) feed()
    })
    let ended: string | undefined
    const follower = await follow(source, "log", formatPosition(EPOCH, 3), {
      onEnd: (reason) => (ended = reason),
    })
    const { entries: delivered, started } = collect(follower)
    await started
    feed = () => sink().onAppend([entry(5)], false)
    // A loss while live: the follower reads; 5 comes meanwhile; a read sent once it is held ends it.
    sink().onLost()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(ended).toBe("gap")
    expect(delivered).toEqual([])
    expect(reads()).toBe(3)
  })
})
