/**
 * A bounded hand-off from a push source (the network loop) to a pull consumer (an async
 * iterator). The producer awaits {@link EventQueue.room} before reading more, so a slow
 * `for await` loop slows the reads instead of growing memory without bound.
 */
export interface EventQueue<T> {
  push(value: T): void
  /** No more values: the consumer finishes after the buffered ones (with `error`, it then throws it). */
  finish(error?: unknown): void
  /** Resolves when the buffer is below its limit (at once when it already is, or when finished). */
  room(): Promise<void>
  next(): Promise<IteratorResult<T, undefined>>
}

export function createEventQueue<T>(maxBuffered: number): EventQueue<T> {
  // At least one: with none, the producer would wait for room that never comes.
  const limit = Math.max(1, maxBuffered)
  const buffer: T[] = []
  let finished: { error?: unknown } | undefined
  /** `next()` calls waiting for a value, oldest first: the protocol lets a consumer ask ahead. */
  const waitingConsumers: Consumer<T>[] = []
  let waitingProducers: Array<() => void> = []

  function releaseProducers(): void {
    const producers = waitingProducers
    waitingProducers = []
    for (const resolve of producers) resolve()
  }

  function settleConsumers(): void {
    while (waitingConsumers.length > 0 && buffer.length > 0) {
      ;(waitingConsumers.shift() as Consumer<T>).resolve({ done: false, value: buffer.shift() as T })
    }
    if (finished) for (const consumer of waitingConsumers.splice(0)) settleFinished(consumer)
  }

  function settleFinished(consumer: Consumer<T>): void {
    if (finished && "error" in finished) {
      const { error } = finished
      // The error is thrown once; later calls just report the end.
      finished = {}
      consumer.reject(error)
    } else {
      consumer.resolve({ done: true, value: undefined })
    }
  }

  return {
    push(value) {
      if (finished) return
      buffer.push(value)
      settleConsumers()
    },
    finish(error) {
      if (finished) return
      finished = error === undefined ? {} : { error }
      settleConsumers()
      releaseProducers()
    },
    room() {
      if (buffer.length < limit || finished) return Promise.resolve()
      return new Promise((resolve) => waitingProducers.push(resolve))
    },
    next() {
      return new Promise((resolve, reject) => {
        if (buffer.length > 0) {
          resolve({ done: false, value: buffer.shift() as T })
          if (buffer.length < limit) releaseProducers()
        } else if (finished) {
          settleFinished({ resolve, reject })
        } else {
          waitingConsumers.push({ resolve, reject })
        }
      })
    },
  }
}

interface Consumer<T> {
  resolve(result: IteratorResult<T, undefined>): void
  reject(error: unknown): void
}
