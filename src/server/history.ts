import type { Frame } from "./queue.js"

/** Bounds of an {@link EventHistory}; the oldest events go first when either is exceeded. */
export interface HistoryLimits {
  /** Most events kept. Default 1000. */
  maxEvents?: number
  /** Most bytes of serialized frames kept (strings counted by length). Default 1 MiB. */
  maxBytes?: number
}

/** The answer to "what happened after id X?". */
export type ReplayResult =
  /** The id is held: these frames followed it, oldest first (possibly none). */
  | { found: true; frames: Frame[] }
  /** The id is not held — evicted, never seen, or from another server. Never a silent gap. */
  | { found: false; oldestId: string | undefined }

/** A bounded, in-order record of recent events for replay on reconnect. */
export interface EventHistory {
  /** Records a serialized event under its id, evicting the oldest past the limits. */
  append(id: string, frame: Frame): void
  /** Frames after `id`, or `found: false` when `id` is no longer (or never was) held. O(1) lookup. */
  after(id: string): ReplayResult
  /** The id of the newest event held, if any. */
  readonly lastId: string | undefined
  readonly size: number
}

export const DEFAULT_HISTORY_EVENTS = 1000
export const DEFAULT_HISTORY_BYTES = 1024 * 1024

interface Entry {
  readonly id: string
  readonly frame: Frame
}

/**
 * Creates a history ring: entries carry a running sequence number, and a map from id to
 * sequence makes the cursor lookup O(1) whatever the length (DESIGN.md engine invariant 3).
 */
export function createEventHistory(limits: HistoryLimits = {}): EventHistory {
  const maxEvents = limits.maxEvents ?? DEFAULT_HISTORY_EVENTS
  const maxBytes = limits.maxBytes ?? DEFAULT_HISTORY_BYTES
  assertPositiveInteger("maxEvents", maxEvents)
  assertPositiveInteger("maxBytes", maxBytes)
  /** Held entries are `entries[head..]`; the slots before are emptied, so that evicted frames go. */
  let entries: (Entry | undefined)[] = []
  let head = 0
  /** Sequence number of entries[head]. */
  let firstSeq = 0
  let bytes = 0
  const seqById = new Map<string, number>()

  const evictOldest = (): void => {
    const oldest = entries[head]
    if (oldest === undefined) return
    // A later event may reuse the id; only forget the mapping if it still points here.
    if (seqById.get(oldest.id) === firstSeq) seqById.delete(oldest.id)
    bytes -= oldest.frame.length
    entries[head] = undefined
    head++
    firstSeq++
    if (head > 1024 && head * 2 > entries.length) {
      entries = entries.slice(head)
      head = 0
    }
  }

  return {
    append(id, frame) {
      entries.push({ id, frame })
      seqById.set(id, firstSeq + entries.length - head - 1)
      bytes += frame.length
      while (entries.length - head > maxEvents || (bytes > maxBytes && entries.length - head > 1))
        evictOldest()
    },
    after(id) {
      const seq = seqById.get(id)
      if (seq === undefined) return { found: false, oldestId: entries[head]?.id }
      const frames: Frame[] = []
      for (let index = head + (seq - firstSeq) + 1; index < entries.length; index++) {
        const entry = entries[index]
        if (entry !== undefined) frames.push(entry.frame)
      }
      return { found: true, frames }
    },
    get lastId() {
      return entries.length > head ? entries[entries.length - 1]?.id : undefined
    },
    get size() {
      return entries.length - head
    },
  }
}

function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`History ${name} must be a positive integer; got ${String(value)}.`)
  }
}
