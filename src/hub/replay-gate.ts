import type { Engine } from "../engine/engine.js"
import type { FollowSource } from "../engine/follow.js"

/**
 * Thrown by a replay's first history read when {@link ReplayGate} already has its maximum of
 * replays waiting: the subscriber is told to come back later ({@link askToComeBackLater}).
 */
export class ReplaysBusyError extends Error {
  constructor(maxQueued: number) {
    super(`${maxQueued} resuming subscribers already wait to read history.`)
    this.name = "ReplaysBusyError"
  }
}

/**
 * A bound on the history reads of resuming subscribers, so that a reconnect storm (a node's
 * subscribers all coming back with a cursor) reads history a few pages at a time instead of all
 * at once. It gates each page read, not a whole replay: a replay waiting for its client to read
 * holds no slot, so stalled clients cannot starve the others.
 */
export interface ReplayGate {
  /** Reads running. */
  readonly running: number
  /** Reads waiting for a slot. */
  readonly waiting: number
  /**
   * The engine as one follower sees it, its history reads passed through the gate. The first
   * read (the one that starts a replay) waits in a bounded queue and throws
   * {@link ReplaysBusyError} past it; later reads (a replay's next pages) are never refused, and
   * go ahead of replays not yet started, so the replays under way finish first.
   */
  forFollower(): FollowSource
}

/** Creates the gate: at most `maxConcurrent` reads at once, at most `maxQueued` replays waiting to start. */
export function createReplayGate(engine: Engine, maxConcurrent: number, maxQueued: number): ReplayGate {
  let running = 0
  const continuing = new WakeQueue()
  const starting = new WakeQueue()
  const release = (): void => {
    const next = continuing.shift() ?? starting.shift()
    if (next === undefined) running--
    else next()
  }
  const gated = async <T>(queue: WakeQueue, read: () => Promise<T>): Promise<T> => {
    if (running < maxConcurrent) running++
    else {
      if (queue === starting && starting.length >= maxQueued) throw new ReplaysBusyError(maxQueued)
      // The slot is handed over by `release`: `running` stays as it is.
      await new Promise<void>((wake) => queue.push(wake))
    }
    try {
      return await read()
    } finally {
      release()
    }
  }
  return {
    get running() {
      return running
    },
    get waiting() {
      return continuing.length + starting.length
    },
    forFollower() {
      let started = false
      return {
        watch: (log, sink) => engine.watch(log, sink),
        head: (log) => engine.head(log),
        read: (log, after, limit, options) => {
          const queue = started ? continuing : starting
          started = true
          return gated(queue, () => engine.read(log, after, limit, options))
        },
      }
    },
  }
}

/** A FIFO of waiters, O(1) at both ends. */
class WakeQueue {
  #items: Array<(() => void) | undefined> = []
  #head = 0

  get length(): number {
    return this.#items.length - this.#head
  }

  push(wake: () => void): void {
    this.#items.push(wake)
  }

  shift(): (() => void) | undefined {
    if (this.#head === this.#items.length) return undefined
    const wake = this.#items[this.#head]
    this.#items[this.#head++] = undefined
    if (this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return wake
  }
}
