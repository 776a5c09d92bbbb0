import { describe, expect, it } from "vitest"
import { createPrompts, MAX_STORED_PROMPT_CHARS } from "../../src/ai/prompts.js"
import type { NormalizedRequest } from "../../src/ai/request.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { START } from "../../src/engine/position.js"

/** What `request`'s prompt is stored as: the log's one entry, as JSON text. */
async function storedJson(request: NormalizedRequest): Promise<string> {
  const engine = createMemoryEngine()
  await createPrompts(engine, 60_000).store("g", request)
  const read = await engine.read("ai/prompt/g", START, 1)
  await engine.close()
  if (!read.held || read.entries[0] === undefined) throw new Error("no prompt stored")
  return read.entries[0].data
}

const user = (text: string) => ({ role: "user" as const, content: [{ type: "text" as const, text }] })

describe("kept prompts", () => {
  it("are kept whole when small", async () => {
    const request: NormalizedRequest = { model: "m", system: "Be brief.", messages: [user("Hi")] }
    expect(JSON.parse(await storedJson(request))).toEqual({ system: "Be brief.", messages: [user("Hi")] })
  })

  it("keep a tool result's text once, though it came in blocks", async () => {
    const result = {
      role: "tool" as const,
      toolCallId: "call_1",
      content: "one\n\ntwo",
      contentBlocks: ["one", "two"],
    }
    expect(JSON.parse(await storedJson({ model: "m", messages: [result] })).messages).toEqual([
      { role: "tool", toolCallId: "call_1", content: "one\n\ntwo" },
    ])
  })

  it("take at most MAX_STORED_PROMPT_CHARS: long texts are cut alike, marked truncated", async () => {
    const system = "s".repeat(1_000_000)
    const text = `${"q".repeat(2_000_000)}"\\`
    const json = await storedJson({ model: "m", system, messages: [user(text)] })
    expect(json.length).toBeLessThanOrEqual(MAX_STORED_PROMPT_CHARS)
    const kept = JSON.parse(json) as {
      system: string
      truncated: boolean
      messages: { content: { text: string }[] }[]
    }
    expect(kept.truncated).toBe(true)
    const keptText = kept.messages[0]?.content[0]?.text ?? ""
    expect(kept.system.endsWith("…")).toBe(true)
    expect(keptText.endsWith("…")).toBe(true)
    expect(system.startsWith(kept.system.slice(0, -1))).toBe(true)
    expect(text.startsWith(keptText.slice(0, -1))).toBe(true)
    // Alike: each keeps about the same share of its length.
    const shares = [(kept.system.length - 1) / system.length, (keptText.length - 1) / text.length]
    expect(Math.abs((shares[0] ?? 0) - (shares[1] ?? 0))).toBeLessThan(0.01)
    expect(json.length).toBeGreaterThan(MAX_STORED_PROMPT_CHARS / 2)
  })

  it("keep the latest messages that fit when there are too many even cut", async () => {
    const messages = Array.from({ length: 40_000 }, (_, i) => user(`m${i}`))
    const json = await storedJson({ model: "m", messages })
    expect(json.length).toBeLessThanOrEqual(MAX_STORED_PROMPT_CHARS)
    const kept = JSON.parse(json) as { truncated: boolean; messages: { content: { text: string }[] }[] }
    expect(kept.truncated).toBe(true)
    expect(kept.messages.length).toBeGreaterThan(1000)
    expect(kept.messages.length).toBeLessThan(messages.length)
    expect(kept.messages.at(-1)?.content[0]?.text).toBe("m39999")
  })
})
