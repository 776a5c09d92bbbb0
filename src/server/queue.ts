/** A chunk of `text/event-stream` bytes, already serialized. */
export type Frame = string | Uint8Array

/**
 * What a connection does when its queue of unsent frames is full.
 *
 * - `"disconnect"` (default): close the connection. The client reconnects with `Last-Event-ID`
 *   and a channel with history replays what it missed — nothing is lost silently.
 * - `"drop-oldest"`: discard the oldest queued frames to make room. For "latest state wins"
 *   streams (prices, presence) where old values are worthless; the client sees a gap.
 */
export type OverflowPolicy = "disconnect" | "drop-oldest"

/** Bounds of a {@link FrameQueue}. */
export interface FrameQueueLimits {
  /**
   * Most bytes held: what the frames take on the wire, strings in UTF-8 (which is at least what
   * V8 holds them in).
   */
  maxBytes: number
  policy: OverflowPolicy
}

/** Frames waiting for a slow reader's socket to drain. FIFO, bounded. */
export interface FrameQueue {
  /** Adds a frame; `false` means the queue is full under the `"disconnect"` policy and the frame was not kept. */
  push(frame: Frame): boolean
  /**
   * Adds a frame owned elsewhere — a history's, shared by every replaying client — without
   * counting it against `maxBytes`: holding one more reference to it costs the queue nothing.
   * A replay longer than the bound would otherwise disconnect the client, which would reconnect
   * with the same cursor and be disconnected again, for ever.
   */
  pushShared(frame: Frame): void
  /** Removes and returns the oldest frame. */
  shift(): Frame | undefined
  readonly length: number
  /** Bytes counted against the bound (shared frames excluded). */
  readonly bytes: number
}

/** A queued frame that does not count against the bound. */
interface SharedFrame {
  readonly shared: Frame
}

type Entry = Frame | SharedFrame

const isShared = (entry: Entry): entry is SharedFrame => typeof entry === "object" && "shared" in entry
const frameBytes = (frame: Frame): number =>
  typeof frame === "string" ? Buffer.byteLength(frame, "utf8") : frame.byteLength
const countedSize = (entry: Entry): number => (isShared(entry) ? 0 : frameBytes(entry))

/** Creates an empty, bounded frame queue. */
export function createFrameQueue(limits: FrameQueueLimits): FrameQueue {
  // A head index instead of Array#shift keeps removal O(1); the array is compacted once half is dead.
  let entries: Entry[] = []
  let head = 0
  let bytes = 0

  const take = (): Entry | undefined => {
    if (head >= entries.length) return undefined
    const entry = entries[head]
    entries[head] = ""
    head++
    if (entry !== undefined) bytes -= countedSize(entry)
    if (head === entries.length) {
      entries = []
      head = 0
    } else if (head > 1024 && head * 2 > entries.length) {
      entries = entries.slice(head)
      head = 0
    }
    return entry
  }

  return {
    push(frame) {
      const size = frameBytes(frame)
      if (bytes + size > limits.maxBytes) {
        if (limits.policy === "disconnect") return false
        while (head < entries.length && bytes + size > limits.maxBytes) take()
      }
      entries.push(frame)
      bytes += size
      return true
    },
    pushShared(frame) {
      entries.push({ shared: frame })
    },
    shift() {
      const entry = take()
      return entry === undefined || !isShared(entry) ? entry : entry.shared
    },
    get length() {
      return entries.length - head
    },
    get bytes() {
      return bytes
    },
  }
}
