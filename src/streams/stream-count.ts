import type { Engine } from "../engine/engine.js"
import { StreamsError } from "./errors.js"
import { STREAM_LOG_PREFIX } from "./stream.js"

/** The `maxStreams` bound: a count kept as streams are created and deleted, recounted from the engine near the bound. */
export interface StreamCount {
  /**
   * Takes a place for one more stream, or throws a 429 when it would pass the bound. The place
   * counts from now on, so that creates at once on one node cannot all pass the same count.
   * At the bound, `exists` is asked: a create of a stream that exists makes none (an idempotent
   * re-PUT answers 200), so it gets its place all the same.
   */
  reserve(exists: () => Promise<boolean>): Promise<StreamPlace>
  deleted(): void
}

/** A place taken by {@link StreamCount.reserve}: one of the two is called, once. */
export interface StreamPlace {
  /** The stream was made: the place is its. */
  created(): void
  /** No stream was made: the place is given back. */
  release(): void
}

const PAGE = 1000

/**
 * Counts from the engine only when the kept count is unknown or at the bound (streams expire
 * without telling this node, and other nodes create them), so the common create costs nothing.
 */
export function createStreamCount(engine: Engine, max: number): StreamCount {
  /** Streams in the engine, as last counted and kept since. */
  let count: number | undefined
  /** Places taken whose create has not finished: not in the engine yet, nor in a recount. */
  let pending = 0
  /** Creates finished on this node, ever: those finished while a recount was out are added to it. */
  let createdEver = 0
  const recount = async (): Promise<number> => {
    let total = 0
    let after: string | undefined
    // Bounded: stops once past the bound.
    while (total <= max) {
      const page = await engine.list({
        prefix: STREAM_LOG_PREFIX,
        limit: PAGE,
        ...(after === undefined ? {} : { after }),
      })
      total += page.logs.length
      if (page.next === undefined) break
      after = page.next
    }
    return total
  }
  return {
    async reserve(exists) {
      if (count === undefined || count + pending >= max) {
        // A create that finished while the engine was listed may be in its total or not: counted
        // once more rather than missed (the next recount sets it right).
        const createdBefore = createdEver
        const total = await recount()
        count = total + (createdEver - createdBefore)
      }
      // No await from this check to the place taken, but for a stream that exists: should it go
      // meanwhile, its create passes the bound by one.
      if (count + pending >= max && !(await exists())) {
        throw new StreamsError(429, `This server holds its maximum of ${max} streams; delete some first.`)
      }
      pending++
      let settled = false
      return {
        created() {
          if (settled) return
          settled = true
          pending--
          createdEver++
          if (count !== undefined) count++
        },
        release() {
          if (settled) return
          settled = true
          pending--
        },
      }
    },
    deleted() {
      if (count !== undefined && count > 0) count--
    },
  }
}
