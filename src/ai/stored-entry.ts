import type { Entry, ErrorEntry, UsageEntry } from "./entries.js"

/**
 * How a generation ended: `done` (the model finished), `cancelled` (someone asked it to stop,
 * or every viewer left and the grace period passed), `failed` (the upstream refused, sent an
 * error, or the store failed), `interrupted` (its node shut down or died before it ended).
 */
export type GenerationStatus = "done" | "cancelled" | "failed" | "interrupted"

/** The error type every format names a generation's stop or interruption with, so a client tells them from failures. */
export const END_ERROR_TYPE = {
  cancelled: "generation_cancelled",
  interrupted: "generation_interrupted",
} as const

/** Token counts of a generation, and where they come from. */
export interface GenerationUsage {
  readonly inputTokens?: number
  readonly outputTokens?: number
  /**
   * `provider`: the upstream's own counts. `estimated`: the upstream sent no output count (an
   * interrupted stream, a server that sends no usage), so it is the number of output deltas
   * received — one delta is one token on OpenAI- and Anthropic-style streams, but a server may
   * batch several. No tokenizer is loaded for it (gpt-tokenizer is the demo model's only).
   */
  readonly source: "provider" | "estimated"
}

/**
 * `usage`, the last usage a generation's entries told, with the counts it leaves out taken from
 * `counted`, its end's (counted locally when the provider sent none).
 */
export function completedUsage(
  usage: UsageEntry | undefined,
  counted: GenerationUsage | undefined,
): UsageEntry {
  return {
    ...usage,
    type: "usage",
    inputTokens: usage?.inputTokens ?? counted?.inputTokens,
    outputTokens: usage?.outputTokens ?? counted?.outputTokens,
  }
}

/** What a generation measured, carried by its terminal entry. */
export interface GenerationStats {
  /** From the request to the first output entry (text, reasoning or a tool call). */
  readonly timeToFirstTokenMs?: number
  /** Output tokens per second between the first and the last output entry. */
  readonly tokensPerSecond?: number
  /** From the request to the end. */
  readonly durationMs: number
  readonly usage: GenerationUsage
  /** From the moment this node learnt of a cancel to the moment the upstream request was aborted. */
  readonly cancelLatencyMs?: number
}

/** The {@link EndError} type of a generation whose upstream refused before streaming (its `status`, if it answered). */
export const UPSTREAM_REFUSED = "upstream_refused"

/** Why a generation failed or stopped, when no `error` entry of the upstream says it already. */
export interface EndError {
  readonly message: string
  /** `upstream_refused`, `store_failed`, `cancelled`, `interrupted`, or the upstream's error type. */
  readonly type: string
  /** The upstream's HTTP status when it refused before streaming. */
  readonly status?: number
}

/** The terminal entry: the last of every generation's log, written with the log's close. */
export interface EndEntry {
  readonly type: "end"
  readonly status: GenerationStatus
  readonly stats: GenerationStats
  readonly error?: EndError
}

/** An entry of a generation's log: a provider's normalized entry, or the terminal one. */
export type StoredEntry = Entry | EndEntry

/** An entry as the log stores it. */
export function serializeEntry(entry: StoredEntry): string {
  return JSON.stringify(entry)
}

/** An entry the log returned. Logs are written by Herald only, so the shape is trusted. */
export function parseEntry(data: string): StoredEntry {
  return JSON.parse(data) as StoredEntry
}

/** The error entry an upstream sent, if `entry` is one. */
export function isErrorEntry(entry: StoredEntry): entry is ErrorEntry {
  return entry.type === "error"
}
