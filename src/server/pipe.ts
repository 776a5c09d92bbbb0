import type { EventFields } from "../protocol/index.js"

/** What `SSEConnection.pipe` reads: events, or strings sent as `data`. */
export type EventStreamSource =
  | AsyncIterable<EventFields | string>
  | Iterable<EventFields | string>
  | ReadableStream<EventFields | string>

/**
 * What {@link pipeSource} writes to: the part of an `SSEConnection` it uses. Declared here, not
 * imported, so that connection.ts (which calls `pipeSource`) and this file do not import each other.
 */
export interface PipeTarget {
  readonly closed: boolean
  send(fields: EventFields): boolean
  whenWritable(): Promise<void>
  onClose(listener: () => void): void
  offClose(listener: () => void): void
}

interface SourceCursor {
  next(): Promise<IteratorResult<EventFields | string>>
  cancel(): Promise<unknown>
}

/**
 * Pumps `source` into `connection`, pausing while the client is slow and cancelling the source
 * when the client leaves. See `SSEConnection.pipe`.
 */
export async function pipeSource(connection: PipeTarget, source: EventStreamSource): Promise<void> {
  const cursor = openCursor(source)
  let finished = false
  /** Ends the wait of the step under way; each step has its own, so that none holds on to the events sent before. */
  let clientLeft = (): void => {}
  const cancel = (): void => {
    if (finished) return
    finished = true
    clientLeft()
    // The client is gone: propagate to the producer (an LLM request, a DB cursor) so it stops working.
    cursor.cancel().catch(() => {})
  }
  if (connection.closed) return cancel()
  connection.onClose(cancel)
  try {
    while (!finished) {
      // Raced with the client's leaving: a source waiting on a stalled upstream would otherwise
      // hold this promise, and what the caller keeps for it, for as long as the stall lasts.
      // Made before the step starts: a source's first synchronous part may close the connection.
      const left = new Promise<undefined>((resolve) => {
        clientLeft = () => resolve(undefined)
      })
      const pending = cursor.next()
      const step = await Promise.race([pending, left])
      if (step === undefined) {
        // What the abandoned step ends with is nobody's now, an error included.
        pending.catch(() => {})
        break
      }
      if (step.done) {
        finished = true
        break
      }
      if (finished) break
      const item = step.value
      if (!connection.send(typeof item === "string" ? { data: item } : item)) await connection.whenWritable()
    }
  } catch (error) {
    cancel()
    throw error
  } finally {
    connection.offClose(cancel)
  }
}

function openCursor(source: EventStreamSource): SourceCursor {
  if (typeof (source as ReadableStream).getReader === "function") {
    const reader = (source as ReadableStream<EventFields | string>).getReader()
    return {
      next: () => reader.read() as Promise<IteratorResult<EventFields | string>>,
      cancel: () => reader.cancel(),
    }
  }
  if (Symbol.asyncIterator in source) {
    const iterator = (source as AsyncIterable<EventFields | string>)[Symbol.asyncIterator]()
    return { next: () => iterator.next(), cancel: async () => iterator.return?.() }
  }
  if (Symbol.iterator in source) {
    const iterator = (source as Iterable<EventFields | string>)[Symbol.iterator]()
    return { next: async () => iterator.next(), cancel: async () => iterator.return?.() }
  }
  throw new TypeError("pipe() needs an async iterable, an iterable or a ReadableStream of events or strings.")
}
