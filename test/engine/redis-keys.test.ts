// Key naming of the redis engine (src/engine/redis-keys.ts): every key of a log under one hash
// tag, the keys of existing names unchanged, and a log name that chooses its tag `{…}` placed in
// the slot of the log of that name, with keys of its own.
import { describe, expect, it } from "vitest"
import { type LogKeys, logKeys } from "../../src/engine/redis-keys.js"
import { hashTag } from "./hash-tag.js"

const PREFIX = "h"

/** The one hash tag of every key of `log`; fails when its keys are split over several. */
function tagOf(log: string): string {
  const tags = new Set(Object.values(logKeys(PREFIX, log)).map(hashTag))
  expect(tags.size, log).toBe(1)
  return [...tags][0] as string
}

function allKeys(...logs: string[]): string[] {
  return logs.flatMap((log) => Object.values(logKeys(PREFIX, log) satisfies LogKeys))
}

describe("redis keys", () => {
  it("names the keys of a plain log as before: its name in the tag, or a hash for a long one", () => {
    expect(logKeys(PREFIX, "hub")).toEqual({
      meta: "{h:hub}:m",
      stream: "{h:hub}:s",
      keyFirst: "{h:hub}:kf",
      keyLast: "{h:hub}:kl",
      keyNext: "{h:hub}:kn",
      producers: "{h:hub}:p",
      channel: "{h:hub}:c",
    })
    expect(tagOf("x".repeat(101))).toMatch(/^h:#[0-9a-f]{32}$/)
    expect(tagOf("#hub")).toMatch(/^h:#[0-9a-f]{32}$/)
  })

  it("puts a log whose name chooses a tag in the slot of the log of that name, with keys of its own", () => {
    const long = `streams:${"x".repeat(200)}`
    for (const [chooser, owner] of [
      ["fork:{streams:/a} /b", "streams:/a"],
      ["{hub}", "hub"],
      ["a{b{c}d", "b{c"],
      [`m:{${long}} /f`, long],
      ["{#x}y", "#x"],
    ] as const) {
      expect(tagOf(chooser), chooser).toBe(tagOf(owner))
    }
    const keys = allKeys("streams:/a", "fork:{streams:/a} /b", "fork:{streams:/a} /c", "{streams:/a}")
    expect(new Set(keys).size).toBe(keys.length)
  })

  it("follows Redis's rule: only the first `{` counts, and an empty tag is no tag", () => {
    for (const name of ["a{}b{c}", "a{b", "a}b{", "{}"]) {
      expect(tagOf(name), name).toMatch(/^h:#[0-9a-f]{32}$/)
      expect(tagOf(name)).not.toBe(tagOf("c"))
    }
    expect(tagOf("a{}b{c}")).not.toBe(tagOf("a{}b{d}"))
  })
})
