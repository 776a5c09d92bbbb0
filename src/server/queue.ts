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
  /** Most bytes held (strings counted by UTF-16 length, a close upper bound for event text). */
  maxBytes: number
  policy: OverflowPolicy
}

/** Frames waiting for a slow reader's socket to drain. FIFO, bounded. */
export interface FrameQueue {
  /** Adds a frame; `false` means the queue is full under the `"disconnect"` policy and the frame was not kept. */
  push(frame: Frame): boolean
  /** Removes and returns the oldest frame. */
  shift(): Frame | undefined
  readonly length: number
  readonly bytes: number
}

/** Creates an empty, bounded frame queue. */
export function createFrameQueue(limits: FrameQueueLimits): FrameQueue {
  // A head index instead of Array#shift keeps removal O(1); the array is compacted once half is dead.
  let frames: Frame[] = []
  let head = 0
  let bytes = 0

  const dropOldest = (): void => {
    const oldest = frames[head]
    if (oldest === undefined) return
    frames[head] = ""
    head++
    bytes -= oldest.length
  }

  return {
    push(frame) {
      const size = frame.length
      if (bytes + size > limits.maxBytes) {
        if (limits.policy === "disconnect") return false
        while (head < frames.length && bytes + size > limits.maxBytes) dropOldest()
      }
      frames.push(frame)
      bytes += size
      return true
    },
    shift() {
      if (head >= frames.length) return undefined
      const frame = frames[head]
      frames[head] = ""
      head++
      if (frame !== undefined) bytes -= frame.length
      if (head === frames.length) {
        frames = []
        head = 0
      } else if (head > 1024 && head * 2 > frames.length) {
        frames = frames.slice(head)
        head = 0
      }
      return frame
    },
    get length() {
      return frames.length - head
    },
    get bytes() {
      return bytes
    },
  }
}
