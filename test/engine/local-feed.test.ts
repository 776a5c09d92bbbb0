import { describe, expect, it } from "vitest"
import type { Entry, FeedSink } from "../../src/engine/engine.js"
import { LocalFeed } from "../../src/engine/local-feed.js"
import { formatPosition } from "../../src/engine/position.js"

function entry(seq: number): Entry {
  return { position: formatPosition("abcdefgh", seq), seq, data: `e${seq}`, key: undefined, time: 0 }
}

/** A sink that writes what it hears into `log` as `${name}:${seqs}` or `${name}:lost`. */
function sink(name: string, log: string[], react?: (entries: readonly Entry[]) => void): FeedSink {
  return {
    onAppend(entries, closed) {
      log.push(`${name}:${entries.map((e) => e.seq).join(",")}${closed ? ":closed" : ""}`)
      react?.(entries)
    },
    onLost() {
      log.push(`${name}:lost`)
    },
  }
}

describe("LocalFeed", () => {
  it("hands a log's batches to its sinks in registration order, twice to a sink added twice", () => {
    const heard: string[] = []
    const feed = new LocalFeed(() => {})
    const a = sink("a", heard)
    feed.add("x", a)
    feed.add("x", sink("b", heard))
    const second = feed.add("x", a)
    feed.add("y", sink("y", heard))
    feed.deliver("x", [entry(1), entry(2)], false)
    second()
    second()
    feed.deliver("x", [], true)
    feed.deliver("x", [], false)
    expect(heard).toEqual(["a:1,2", "b:1,2", "a:1,2", "a::closed", "b::closed"])
    expect(feed.watched("x")).toBe(true)
    expect(feed.watched("z")).toBe(false)
  })

  it("delivers a batch appended by a sink after the current one reached every sink", () => {
    const heard: string[] = []
    const feed = new LocalFeed(() => {})
    let reacted = false
    feed.add(
      "x",
      sink("a", heard, () => {
        if (reacted) return
        reacted = true
        feed.deliver("x", [entry(2)], false)
        feed.lost("x")
      }),
    )
    feed.add("x", sink("b", heard))
    feed.deliver("x", [entry(1)], false)
    expect(heard).toEqual(["a:1", "b:1", "a:2", "b:2", "a:lost", "b:lost"])
  })

  it("keeps delivering when a sink throws, reporting the error; skips a sink removed meanwhile", () => {
    const heard: string[] = []
    const errors: unknown[] = []
    const feed = new LocalFeed((error) => errors.push(error))
    let removeC: () => void = () => {}
    feed.add("x", {
      onAppend() {
        removeC()
        throw new Error("bug")
      },
      onLost() {},
    })
    feed.add("x", sink("b", heard))
    removeC = feed.add("x", sink("c", heard))
    feed.deliver("x", [entry(1)], false)
    expect(heard).toEqual(["b:1"])
    expect(errors.map(String)).toEqual(["Error: bug"])
  })

  it("reports lost to one log's sinks, or to every sink", () => {
    const heard: string[] = []
    const feed = new LocalFeed(() => {})
    feed.add("x", sink("x", heard))
    feed.add("y", sink("y", heard))
    feed.lost("x")
    feed.lost("none")
    expect(heard).toEqual(["x:lost"])
    feed.lostAll()
    expect(heard).toEqual(["x:lost", "x:lost", "y:lost"])
    feed.clear()
    feed.lostAll()
    feed.deliver("x", [entry(1)], false)
    expect(heard).toHaveLength(3)
  })
})
