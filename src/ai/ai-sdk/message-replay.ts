import type { UIMessageChunk } from "ai"

/**
 * The chunks of the message a chat is receiving, merged as they come (a part's deltas become
 * one), and the cursor of the last chunk the chat got: a resume from the cursor replays these
 * locally, so the chat rebuilds the message without fetching again what it already had.
 */
export class MessageReplay {
  #chunks: UIMessageChunk[] = []
  #cursor: string | undefined

  /** A replay as it was saved: `chunks` (merged, from the message's `start`) up to `cursor`. */
  static restore(cursor: string, chunks: readonly UIMessageChunk[]): MessageReplay {
    const replay = new MessageReplay()
    replay.#chunks = [...chunks]
    replay.#cursor = cursor
    return replay
  }

  /** The `id:` of the last chunk the chat got, if it came with one. */
  get cursor(): string | undefined {
    return this.#cursor
  }

  /** The message so far, from its `start` chunk: what to replay before the rest. */
  chunks(): UIMessageChunk[] {
    return [...this.#chunks]
  }

  /** `chunk` reached the chat, its event's id `id`. A `start` chunk begins another message. */
  record(chunk: UIMessageChunk, id: string | undefined): void {
    if (id !== undefined) this.#cursor = id
    if (chunk.type === "start") this.#chunks = []
    const last = this.#chunks.at(-1)
    const merged = last === undefined ? undefined : merge(last, chunk)
    if (merged === undefined) this.#chunks.push(chunk)
    else this.#chunks[this.#chunks.length - 1] = merged
  }
}

/** One chunk saying what `first` then `next` say, when they are deltas of the same part. */
function merge(first: UIMessageChunk, next: UIMessageChunk): UIMessageChunk | undefined {
  if (
    (first.type === "text-delta" && next.type === "text-delta") ||
    (first.type === "reasoning-delta" && next.type === "reasoning-delta")
  ) {
    return first.id === next.id ? { ...next, delta: first.delta + next.delta } : undefined
  }
  if (first.type === "tool-input-delta" && next.type === "tool-input-delta") {
    return first.toolCallId === next.toolCallId
      ? { ...next, inputTextDelta: first.inputTextDelta + next.inputTextDelta }
      : undefined
  }
  return undefined
}
