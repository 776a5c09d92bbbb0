import { describe, expect, it } from "vitest"
import { inputEnd, newInputScan, scanInput, toolInputOf } from "../../src/ai/tool-input.js"
import { seededRandom } from "../engine/lagging-feed.js"

/** What a stream of `fragments` gives: each part streamed, then the closing text. */
function streamed(fragments: readonly string[]): { parts: string[]; text: string } {
  const scan = newInputScan()
  const parts = fragments.map((fragment) => scanInput(scan, fragment))
  parts.push(inputEnd(scan))
  return { parts, text: parts.join("") }
}

/** Every way of cutting `text` in two, and in single characters. */
function cuts(text: string): string[][] {
  const ways = [[text], [...text]]
  for (let at = 1; at < text.length; at++) ways.push([text.slice(0, at), text.slice(at)])
  return ways
}

function randomValue(next: () => number, depth: number): unknown {
  const kind = Math.floor(next() * (depth > 3 ? 4 : 6))
  switch (kind) {
    case 0:
      // + 0: no -0, which JSON writes as 0.
      return Math.round((next() - 0.5) * 10 ** Math.floor(next() * 8)) / (next() < 0.5 ? 1 : 1000) + 0
    case 1:
      return ["", "a", 'q"uote', "back\\slash", "line\nfeed", "é😀", "\u0001"][Math.floor(next() * 7)]
    case 2:
      return [true, false, null][Math.floor(next() * 3)]
    case 3:
      return next() * 1e21
    case 4:
      return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1))
    default:
      return randomObject(next, depth + 1)
  }
}

function randomObject(next: () => number, depth: number): Record<string, unknown> {
  const object: Record<string, unknown> = {}
  for (let key = Math.floor(next() * 4); key > 0; key--) object[`k${key}`] = randomValue(next, depth)
  return object
}

describe("a tool call's arguments as Messages' input", () => {
  it.each([
    [
      '{"city": "Oslo", "days": [1, 2.5e3, -0.5], "ok": true, "n": null}',
      { city: "Oslo", days: [1, 2500, -0.5], ok: true, n: null },
    ],
    ['{"a": nope}', {}],
    ['{"a": 1, "b": nope}', { a: 1 }],
    ['{"city": "Os', { city: "Os" }],
    ['{"a": "x\\', { a: "x" }],
    ['{"a": "\\u00', { a: "" }],
    ['{"a": "\\u00e9"', { a: "é" }],
    ['{"a": "\\q"}', { a: "" }],
    ['{"a": 1.', { a: 1 }],
    ['{"a": -', {}],
    ['{"a": 1e+', { a: 1 }],
    ['{"a": 01}', { a: 0 }],
    ['{"a": tru', {}],
    ['{"a": [1, 2,', { a: [1, 2] }],
    ['{"a": {"b": [{"c', { a: { b: [{}] } }],
    ['{"a":1,}', { a: 1 }],
    ['{"a": "tab\there"}', { a: "tab" }],
    ["{'a': 1}", {}],
    ['{"a":1}{"a":2}', { a: 1 }],
    ['{"b":"}{\\""} </tool_call>', { b: '}{"' }],
    ["not json", {}],
    ["[1,2]", {}],
    ["", {}],
    ["   ", {}],
    ['  {"a":1}', { a: 1 }],
  ])("%j is %j, streamed or whole, however it is cut", (text, input) => {
    expect(toolInputOf(text)).toEqual(input)
    for (const fragments of cuts(text)) {
      expect(JSON.parse(streamed(fragments).text), JSON.stringify(fragments)).toEqual(input)
    }
  })

  it("nested deeper than a stored entry may is closed at that depth", () => {
    const deep = `{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`
    const input = toolInputOf(deep)
    let depth = 1
    for (let value: unknown = input.a; Array.isArray(value); value = value[0]) depth++
    expect(depth).toBe(64)
    expect(streamed([deep]).text).toBe(JSON.stringify(input))
  })

  it("streams a value's text as it comes; a key, a comma and an unfinished token wait", () => {
    expect(streamed(['{"ci', 'ty": "Os', "lo", '", ', '"days": 1', "2", "."]).parts).toEqual([
      "{",
      '"city": "Os',
      "lo",
      '"',
      ', "days": 1',
      "2",
      "",
      "}",
    ])
  })

  it("random objects: whole they are themselves; cut anywhere, a valid object that the stream and the whole answer agree on", () => {
    const next = seededRandom(12)
    for (let round = 0; round < 500; round++) {
      const object = randomObject(next, 0)
      const text = JSON.stringify(object, null, next() < 0.5 ? 0 : 1)
      expect(toolInputOf(text)).toEqual(object)
      const cut = text.slice(0, Math.floor(next() * text.length))
      const broken = cut + (next() < 0.5 ? "" : "x}")
      const fragments: string[] = []
      for (let at = 0; at < broken.length; ) {
        const size = 1 + Math.floor(next() * 8)
        fragments.push(broken.slice(at, at + size))
        at += size
      }
      const { parts, text: whole } = streamed(fragments)
      expect(JSON.parse(whole), broken).toEqual(toolInputOf(broken))
      // Every text streamed so far closes into an object: the SDK parses each delta's sum.
      let sum = ""
      for (const part of parts.slice(0, -1)) {
        sum += part
        if (sum !== "") expect(() => JSON.parse(sum + inputEndOf(sum)), sum).not.toThrow()
      }
    }
  })
})

/** What closes `text`, read as one fragment. */
function inputEndOf(text: string): string {
  const scan = newInputScan()
  scanInput(scan, text)
  return inputEnd(scan)
}
