// follow() across a log's move to a later epoch that continues its own (a replication fork): a
// scripted source answers as the redis engine does after one, so that the order of the feed and
// the reads is exact.
import { describe, expect, it } from "vitest"
import type { Entry, ReadResult } from "../../src/engine/engine.js"
import { follow } from "../../src/engine/follow.js"
import { formatPosition, START } from "../../src/engine/position.js"
import { collect, scriptedSource } from "./scripted-source.js"

const OLD = "aaaaaaaa"
const NEW = "bbbbbbbb"
const entry = (epoch: string, seq: number, data: string): Entry => ({
  position: formatPosition(epoch, seq),
  seq,
  time: 0,
  data,
  key: undefined,
})

describe("follow across a replication fork", () => {
  it("forgets a close heard from the former epoch when the read lands on the later one", async () => {
    let reads = 0
    const { source, sink } = scriptedSource(
      async () => undefined,
      async (_log, _after, limit): Promise<ReadResult> => {
        reads++
        if (reads === 1) {
          const at = formatPosition(OLD, 5)
          return { held: true, after: at, entries: [], more: false, tail: at, closed: false }
        }
        // The new master: the old epoch's 5 read as the new one's, 6'-9' appended there, open.
        const entries = [6, 7, 8, 9].map((seq) => entry(NEW, seq, `${seq}'`)).slice(0, limit)
        return {
          held: true,
          after: formatPosition(NEW, 5),
          entries,
          more: false,
          tail: formatPosition(NEW, 9),
          closed: false,
        }
      },
    )
    let ended: string | undefined
    const follower = await follow(source, "log", formatPosition(OLD, 5), {
      onEnd: (reason) => (ended = reason),
    })
    const { entries: delivered, started } = collect(follower)
    await started
    // The old master's feed brought 7 and 8 with a close (6 missed): a hole, read on the new master.
    sink().onAppend([entry(OLD, 7, "7"), entry(OLD, 8, "8")], true)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(delivered.map((given) => given.data)).toEqual(["6'", "7'", "8'", "9'"])
    expect(ended).toBeUndefined()
    sink().onAppend([entry(NEW, 10, "10'")], false)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(delivered.map((given) => given.data)).toEqual(["6'", "7'", "8'", "9'", "10'"])
    expect(ended).toBeUndefined()
    follower.stop()
  })

  it("goes on after the tail when its position is found ahead of it, before the log's fork, when it may", async () => {
    // A hub-like follower that delivered 1-8; the Redis it reads now lost 6-8 and has not forked
    // the log yet: its position is ahead of the tail. It goes on after 5, with no repeats.
    let reads = 0
    const { source, sink } = scriptedSource(
      async () => ({
        name: "log",
        epoch: OLD,
        tail: formatPosition(OLD, 5),
        floor: formatPosition(OLD, 0),
        closed: false,
        stopRequested: false,
        createdAt: 0,
        expiresAt: undefined,
        config: {},
      }),
      async (_log, after, limit): Promise<ReadResult> => {
        reads++
        if (reads === 1) {
          const entries = [1, 2, 3, 4, 5, 6, 7, 8].map((seq) => entry(OLD, seq, String(seq)))
          const floor = formatPosition(OLD, 0)
          return {
            held: true,
            after: floor,
            entries,
            more: false,
            tail: formatPosition(OLD, 8),
            closed: false,
          }
        }
        if (after === formatPosition(OLD, 8)) return { held: false, after, reason: "ahead" }
        // What the Redis holds now: 1-5, then 6' and 7' appended in the lost entries' places.
        const held = [1, 2, 3, 4, 5, 6, 7].map((seq) => entry(OLD, seq, seq > 5 ? `${seq}'` : String(seq)))
        const from = Number(after.split("_")[1])
        const entries = held.filter((given) => given.seq > from).slice(0, limit)
        return { held: true, after, entries, more: false, tail: formatPosition(OLD, 7), closed: false }
      },
    )
    let recreated = 0
    let ended: string | undefined
    const follower = await follow(source, "log", START, {
      onRecreated: () => recreated++,
      onEnd: (reason) => (ended = reason),
    })
    const { entries: delivered, started } = collect(follower)
    await started
    sink().onLost()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(delivered.map((given) => given.data)).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "6'", "7'"])
    expect(recreated).toBe(1)
    expect(ended).toBeUndefined()
    follower.stop()
  })
})
