import { type Entry, laterUsage } from "./entries.js"

/**
 * The entries waiting for the next flush of a generation, with token deltas merged: text after
 * text becomes one `text-delta`, reasoning after reasoning one `reasoning-delta`, arguments of
 * the same tool call one `tool-call-delta` (refusals likewise), and a usage entry replaces the usage before it
 * (usage is cumulative). Nothing is dropped: the merged text is the concatenation, in order.
 * Fewer, larger entries mean fewer appends and fewer SSE events per token at high rates.
 */
export class PendingEntries {
  #entries: Entry[] = []
  #added = 0

  /** Entries added since the last {@link take}, counted before merging: what bounds the memory held. */
  get added(): number {
    return this.#added
  }

  add(entry: Entry): void {
    this.#added++
    const last = this.#entries.at(-1)
    if (last !== undefined) {
      const merged = merge(last, entry)
      if (merged !== undefined) {
        this.#entries[this.#entries.length - 1] = merged
        return
      }
    }
    this.#entries.push(entry)
  }

  /** Everything waiting, oldest first; the batch is empty afterwards. */
  take(): Entry[] {
    const taken = this.#entries
    this.#entries = []
    this.#added = 0
    return taken
  }
}

/** `previous` and `next` as one entry, or `undefined` when they stay apart. */
function merge(previous: Entry, next: Entry): Entry | undefined {
  if (previous.type === "text-delta" && next.type === "text-delta") {
    return { type: "text-delta", text: previous.text + next.text }
  }
  if (previous.type === "refusal-delta" && next.type === "refusal-delta") {
    return { type: "refusal-delta", text: previous.text + next.text }
  }
  if (previous.type === "reasoning-delta" && next.type === "reasoning-delta") {
    return { type: "reasoning-delta", text: previous.text + next.text }
  }
  if (
    previous.type === "tool-call-delta" &&
    next.type === "tool-call-delta" &&
    previous.index === next.index
  ) {
    return { type: "tool-call-delta", index: next.index, arguments: previous.arguments + next.arguments }
  }
  if (previous.type === "usage" && next.type === "usage") {
    return laterUsage(previous, next)
  }
  return undefined
}
