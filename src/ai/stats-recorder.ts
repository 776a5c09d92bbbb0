import { type Entry, isOutputEntry } from "./entries.js"
import type { GenerationStats, GenerationUsage } from "./stored-entry.js"

/** Measures a generation as its entries arrive: time to first token, rate, usage. */
export class StatsRecorder {
  readonly #startedAt: number
  #firstOutputAt: number | undefined
  #lastOutputAt: number | undefined
  #outputDeltas = 0
  /** A reasoning delta came: the reasoning was streamed, within the output's time. */
  #reasoningShown = false
  #inputTokens: number | undefined
  #outputTokens: number | undefined
  /** How many output deltas had come when the provider last gave its output count. */
  #deltasAtCount = 0
  #reasoningTokens: number | undefined
  #cancelLatencyMs: number | undefined

  /** `startedAt`: when the request arrived, in ms (the clock of `observe`'s `now`). */
  constructor(startedAt: number) {
    this.#startedAt = startedAt
  }

  observe(entry: Entry, now: number): void {
    if (isOutputEntry(entry)) {
      this.#firstOutputAt ??= now
      this.#lastOutputAt = now
      if (
        entry.type === "text-delta" ||
        entry.type === "refusal-delta" ||
        entry.type === "reasoning-delta" ||
        entry.type === "tool-call-delta"
      ) {
        this.#outputDeltas++
      }
      if (entry.type === "reasoning-delta") this.#reasoningShown = true
    } else if (entry.type === "usage") {
      this.#inputTokens = entry.inputTokens ?? this.#inputTokens
      if (entry.outputTokens !== undefined) {
        this.#outputTokens = entry.outputTokens
        this.#deltasAtCount = this.#outputDeltas
      }
      this.#reasoningTokens = entry.reasoningTokens ?? this.#reasoningTokens
    }
  }

  /** The upstream request was aborted `ms` after this node learnt of a cancel. */
  cancelled(ms: number): void {
    this.#cancelLatencyMs = ms
  }

  /** The final measures, once the generation ended at `now`. */
  finish(now: number): GenerationStats {
    return this.#measure(now, this.#lastOutputAt)
  }

  /** The measures so far of a running generation: its rate counts the time up to `now`, not to its last token. */
  progress(now: number): GenerationStats {
    return this.#measure(now, this.#firstOutputAt === undefined ? undefined : now)
  }

  #measure(now: number, rateEnd: number | undefined): GenerationStats {
    // A provider's count told before deltas that it falls short of is not the final one
    // (Anthropic's `message_start` says 1) of a stream cut before it: the deltas say more. One
    // told after the last delta is final, though chunks smaller than tokens outnumber it.
    const counted =
      this.#outputTokens !== undefined &&
      (this.#deltasAtCount === this.#outputDeltas || this.#outputTokens >= this.#outputDeltas)
    const usage: GenerationUsage = counted
      ? { ...this.#input(), outputTokens: this.#outputTokens, source: "provider" }
      : { ...this.#input(), outputTokens: this.#outputDeltas, source: "estimated" }
    const first = this.#firstOutputAt
    const streamingMs = first === undefined || rateEnd === undefined ? 0 : rateEnd - first
    // Reasoning the provider counted but did not stream was made before the first output.
    const hidden = counted && !this.#reasoningShown ? (this.#reasoningTokens ?? 0) : 0
    const streamed = (usage.outputTokens ?? 0) - hidden
    return {
      ...(first === undefined ? {} : { timeToFirstTokenMs: first - this.#startedAt }),
      // Tokens after the first, over the time they took: one token alone has no rate.
      ...(streamingMs > 0 && streamed > 1
        ? { tokensPerSecond: round((streamed - 1) / (streamingMs / 1000)) }
        : {}),
      durationMs: now - this.#startedAt,
      usage,
      ...(this.#cancelLatencyMs === undefined ? {} : { cancelLatencyMs: this.#cancelLatencyMs }),
    }
  }

  #input(): { inputTokens?: number } {
    return this.#inputTokens === undefined ? {} : { inputTokens: this.#inputTokens }
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10
}
