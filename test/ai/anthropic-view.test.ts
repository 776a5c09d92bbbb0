import { describe, expect, it } from "vitest"
import { anthropicView } from "../../src/ai/anthropic-view.js"
import type { Entry } from "../../src/ai/entries.js"
import type { StoredEntry } from "../../src/ai/stored-entry.js"
import { seededRandom } from "../engine/lagging-feed.js"
import { builtBlocks } from "./anthropic-events.js"

const CONTEXT = {
  id: "g1",
  meta: { model: "m", format: "anthropic", owner: undefined, createdAt: 0, includeUsage: false },
} as const

const DONE: StoredEntry = {
  type: "end",
  status: "done",
  stats: { durationMs: 1, usage: { source: "provider" } },
}

/** Every event the Anthropic view renders of `entries`, then of a finish and a done end. */
function rendered(entries: readonly Entry[]) {
  const view = anthropicView(CONTEXT)
  const finish: Entry = { type: "finish", reason: "tool_calls", rawReason: "tool_use" }
  return [...entries, finish, DONE].flatMap((entry) => view.render(entry))
}

/** A tool call's entries: its start, a delta per fragment, its end with the arguments whole. */
function call(index: number, name: string, fragments: readonly string[]): Entry[] {
  return [
    { type: "tool-call-start", index, id: `call_${index}`, name },
    ...fragments.map((part): Entry => ({ type: "tool-call-delta", index, arguments: part })),
    { type: "tool-call-end", index, arguments: fragments.join("") },
  ]
}

describe("the Anthropic view of tool calls that overlap", () => {
  it("a call that ends while an earlier call's block is open follows that block, which keeps the input that came after", () => {
    const [startA, firstA, lastA, endA] = call(0, "weather", ['{"city":', '"Oslo"}']) as Entry[]
    const [startB, deltaB, endB] = call(1, "time", ['{"zone":"CET"}']) as Entry[]
    // Anthropic-compatible servers may overlap blocks: A starts, B starts, B stops, then A goes on.
    const entries = [startA, startB, firstA, deltaB, endB, lastA, endA] as Entry[]
    expect(builtBlocks(rendered(entries))).toEqual([
      { type: "tool_use", id: "call_0", name: "weather", input: { city: "Oslo" } },
      { type: "tool_use", id: "call_1", name: "time", input: { zone: "CET" } },
    ])
  })

  it("any interleaving of calls and text gives every call its whole input in a block of its own, the text in order, blocks one after the other", () => {
    const next = seededRandom(7)
    for (let round = 0; round < 500; round++) {
      const calls = Array.from({ length: 1 + Math.floor(next() * 4) }, (_, index) => {
        const input = {
          n: index,
          words: Array.from({ length: Math.floor(next() * 4) }, () => next().toString(36)),
        }
        const text = JSON.stringify(input)
        const fragments: string[] = []
        for (let at = 0; at < text.length; ) {
          const size = 1 + Math.floor(next() * 6)
          fragments.push(text.slice(at, at + size))
          at += size
        }
        return { input, entries: call(index, `tool${index}`, fragments) }
      })
      const words = Array.from({ length: Math.floor(next() * 4) }, (_, n) => `w${n} `)
      // Each sequence keeps its own order; which one goes next is random.
      const queues: Entry[][] = [
        ...calls.map((c) => [...c.entries]),
        words.map((text): Entry => ({ type: "text-delta", text })),
      ]
      // The calls start in index order, as adapters number them.
      const merged: Entry[] = []
      let started = 0
      while (queues.some((queue) => queue.length > 0)) {
        const ready = queues.filter((queue) => {
          const head = queue[0]
          return head !== undefined && (head.type !== "tool-call-start" || head.index === started)
        })
        const queue = ready[Math.floor(next() * ready.length)] as Entry[]
        const entry = queue.shift() as Entry
        if (entry.type === "tool-call-start") started++
        merged.push(entry)
      }
      const blocks = builtBlocks(rendered(merged))
      const tools = blocks.filter((block) => block.type === "tool_use")
      expect(tools.map((block) => block.id).sort()).toEqual(calls.map((_, index) => `call_${index}`))
      for (const block of tools) expect(block.input).toEqual(calls[Number(block.id?.slice(5))]?.input)
      const text = blocks.flatMap((block) => (block.type === "text" ? [block.text] : [])).join("")
      expect(text).toBe(words.join(""))
    }
  })
})

describe("the Anthropic view cut by an error", () => {
  it("stops every block before the error event, the text held behind an open tool call's too, and sends nothing after it", () => {
    const view = anthropicView(CONTEXT)
    const entries: StoredEntry[] = [
      { type: "tool-call-start", index: 0, id: "call_0", name: "t" },
      { type: "tool-call-delta", index: 0, arguments: '{"a":' },
      { type: "text-delta", text: "held" },
      { type: "error", message: "boom", errorType: "overloaded_error", afterOutput: true },
      {
        type: "end",
        status: "failed",
        error: { type: "overloaded_error", message: "boom" },
        stats: { durationMs: 1, usage: { source: "provider" } },
      },
    ]
    const events = entries.flatMap((entry) => view.render(entry))
    const types = events.map((event) => (JSON.parse(event.data) as { type: string }).type)
    expect(types.at(-1)).toBe("error")
    expect(types.filter((type) => type === "error")).toHaveLength(1)
    // Strict: every block stopped before the error, nothing after it, the tool input one JSON object.
    expect(builtBlocks(events)).toEqual([
      { type: "tool_use", id: "call_0", name: "t", input: {} },
      { type: "text", text: "held" },
    ])
  })
})
