import { encode } from "gpt-tokenizer/encoding/r50k_base"
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest"
import { demoProvider } from "../../src/ai/demo.js"
import { demoAnswer } from "../../src/ai/demo-text.js"
import type { Entry } from "../../src/ai/entries.js"
import type { NormalizedRequest } from "../../src/ai/request.js"
import { collect } from "./upstream.js"

function ask(text: string): NormalizedRequest {
  return { model: "demo", messages: [{ role: "user", content: [{ type: "text", text }] }] }
}

const FAST = { timeToFirstTokenMs: 0, tokensPerSecond: Number.POSITIVE_INFINITY }

function textOf(entries: Entry[]): string {
  return entries.flatMap((entry) => (entry.type === "text-delta" ? [entry.text] : [])).join("")
}

beforeAll(async () => {
  // Loads gpt-tokenizer once with real timers; the fake-timer tests below find it loaded.
  await collect(demoProvider(FAST).stream(ask("warm up"), new AbortController().signal))
})

afterEach(() => {
  vi.useRealTimers()
})

describe("demo text", () => {
  it("is the same for the same prompt, different for another, mentions the prompt and says it is a demo", () => {
    const answer = demoAnswer("Why is the ocean salty?", 60)
    expect(demoAnswer("Why is the ocean salty?", 60)).toBe(answer)
    expect(demoAnswer("How do volcanoes form?", 60)).not.toBe(answer)
    expect(answer).toMatch(/ocean|salty/)
    expect(answer).toContain("demo model")
  })

  it("has about the words asked for", () => {
    for (const words of [20, 60, 300]) {
      const count = demoAnswer("Tell me about rivers and mountains", words).split(" ").length
      expect(count).toBeGreaterThanOrEqual(words)
      expect(count).toBeLessThan(words + 25)
    }
  })
})

describe("demo provider", () => {
  it("streams the demo text as gpt-tokenizer's tokens, then finish and usage counted locally", async () => {
    const prompt = "Explain server-sent events, s'il vous plaît — ça marche? 日本語"
    const entries = await collect(demoProvider(FAST).stream(ask(prompt), new AbortController().signal))
    const text = textOf(entries)
    expect(text).toBe(demoAnswer(prompt, 60))
    expect(entries.slice(-2)).toEqual([
      { type: "finish", reason: "stop", rawReason: "stop" },
      { type: "usage", inputTokens: encode(prompt).length, outputTokens: encode(text).length },
    ])
    // One delta per token, except where a character spans several tokens.
    expect(entries.length - 2).toBeLessThanOrEqual(encode(text).length)
    expect(entries.length - 2).toBeGreaterThan(encode(text).length / 2)
  })

  it("stops at max_tokens, finishing with length", async () => {
    const prompt = "Explain server-sent events"
    const entries = await collect(
      demoProvider(FAST).stream({ ...ask(prompt), maxTokens: 5 }, new AbortController().signal),
    )
    const whole = encode(demoAnswer(prompt, 60))
    expect(encode(textOf(entries))).toEqual(whole.slice(0, 5))
    expect(entries.slice(-2)).toEqual([
      { type: "finish", reason: "length", rawReason: "length" },
      { type: "usage", inputTokens: encode(prompt).length, outputTokens: 5 },
    ])
  })

  it("answers a huge or odd prompt as long as any other, and counts its tokens from a bounded sample", async () => {
    for (const prompt of ["a".repeat(10_000), `${"x".repeat(30)} `.repeat(30_000)]) {
      const entries = await collect(demoProvider(FAST).stream(ask(prompt), new AbortController().signal))
      expect(textOf(entries).split(" ").length).toBeLessThan(60 + 25)
      const usage = entries.at(-1)
      if (usage?.type !== "usage") throw new Error("no usage")
      if (prompt.length <= 65_536) expect(usage.inputTokens).toBe(encode(prompt).length)
      else {
        const sampled = encode(prompt.slice(0, 65_536)).length
        expect(usage.inputTokens).toBe(Math.round((sampled * prompt.length) / 65_536))
      }
    }
  })

  it("honors the time to first token and the tokens per second", async () => {
    vi.useFakeTimers()
    const provider = demoProvider({ timeToFirstTokenMs: 500, tokensPerSecond: 10, words: 10 })
    const iterator = provider
      .stream(ask("Plain ASCII prompt"), new AbortController().signal)
      [Symbol.asyncIterator]()
    const times: number[] = []
    const started = Date.now()
    const done = (async () => {
      for (let entry = await iterator.next(); !entry.done; entry = await iterator.next()) {
        if (entry.value.type === "text-delta") times.push(Date.now() - started)
      }
    })()
    await vi.advanceTimersByTimeAsync(499)
    expect(times).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(times).toEqual([500])
    await vi.advanceTimersByTimeAsync(99)
    expect(times).toEqual([500])
    await vi.advanceTimersByTimeAsync(1)
    expect(times).toEqual([500, 600])
    await vi.runAllTimersAsync()
    await done
    // ASCII: one piece per token, token n at 500 + (n - 1) × 100 ms.
    expect(times).toEqual(times.map((_time, n) => 500 + n * 100))
  })

  it("stops at once when aborted, before the first token and mid-stream", async () => {
    vi.useFakeTimers()
    const provider = demoProvider({ timeToFirstTokenMs: 10_000, tokensPerSecond: 1 })
    const before = new AbortController()
    const first = provider.stream(ask("Hi"), before.signal)[Symbol.asyncIterator]().next()
    before.abort()
    await expect(first).rejects.toMatchObject({ name: "AbortError" })

    const during = new AbortController()
    const iterator = provider.stream(ask("Hi"), during.signal)[Symbol.asyncIterator]()
    const token = iterator.next()
    await vi.advanceTimersByTimeAsync(10_000)
    expect((await token).value).toMatchObject({ type: "text-delta" })
    const next = iterator.next()
    during.abort()
    await expect(next).rejects.toMatchObject({ name: "AbortError" })
    // No timer left behind to fire later.
    expect(vi.getTimerCount()).toBe(0)
  })

  it("refuses a rate or a delay that cannot be scheduled", () => {
    expect(() => demoProvider({ tokensPerSecond: 0 })).toThrow(RangeError)
    expect(() => demoProvider({ timeToFirstTokenMs: -1 })).toThrow(RangeError)
  })

  it("refuses an answer too long to build without holding the event loop, and a malformed tool call", () => {
    expect(() => demoProvider({ words: 1e9 })).toThrow(/words must be a whole number from 1 to 10000/)
    expect(() => demoProvider({ words: 0 })).toThrow(RangeError)
    expect(() => demoProvider({ words: 2.5 })).toThrow(RangeError)
    expect(() => demoProvider({ failAfterTokens: -1 })).toThrow(RangeError)
    const objectArguments = { name: "f", arguments: { city: "Oslo" } } as unknown as {
      name: string
      arguments: string
    }
    expect(() => demoProvider({ toolCall: objectArguments })).toThrow(/toolCall/)
    expect(() => demoProvider({ words: 10_000 })).not.toThrow()
  })

  it("can call a tool after its text", async () => {
    const toolCall = { name: "weather", arguments: '{"city":"Oslo"}' }
    const entries = await collect(
      demoProvider({ ...FAST, toolCall }).stream(ask("Hi"), new AbortController().signal),
    )
    expect(entries.slice(-5)).toEqual([
      { type: "tool-call-start", index: 0, id: "call_demo_0", name: "weather" },
      { type: "tool-call-delta", index: 0, arguments: '{"city":"Oslo"}' },
      { type: "tool-call-end", index: 0, arguments: '{"city":"Oslo"}' },
      { type: "finish", reason: "tool_calls", rawReason: "tool_calls" },
      expect.objectContaining({ type: "usage" }),
    ])
  })

  it("can fail mid-stream, or before any token", async () => {
    const entries = await collect(
      demoProvider({ ...FAST, failAfterTokens: 3 }).stream(ask("Plain prompt"), new AbortController().signal),
    )
    expect(entries.map((entry) => entry.type)).toEqual([
      "text-delta",
      "text-delta",
      "text-delta",
      "usage",
      "error",
    ])
    expect(entries.at(-1)).toMatchObject({ type: "error", errorType: "demo_error", afterOutput: true })

    const early = await collect(
      demoProvider({ ...FAST, failAfterTokens: 0 }).stream(ask("Plain prompt"), new AbortController().signal),
    )
    expect(early).toEqual([expect.objectContaining({ type: "error", afterOutput: false })])
  })
})
