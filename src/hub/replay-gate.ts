import type { Engine } from "./engine/engine.js"

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
   * The engine, its history reads passed through the gate. `readAfter` (the cursor lookup that
   * starts a replay) waits in a bounded queue and throws {@link ReplaysBusyError} past it;
   * `readAfterSeq` (a replay's next page) is never refused, and goes ahead of replays not yet
   * started, so the replays under way finish first.
   */
  readonly engine: Engine
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
    engine: {
      name: engine.name,
      append: (updates) => engine.append(updates),
      listen: (listener) => engine.listen(listener),
      readAfter: (cursor, limit) => gated(starting, () => engine.readAfter(cursor, limit)),
      readAfterSeq: (seq, limit) => gated(continuing, () => engine.readAfterSeq(seq, limit)),
      lastId: () => engine.lastId(),
      close: () => engine.close(),
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
