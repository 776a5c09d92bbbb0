import type { Engine } from "../engine/engine.js"
import { StreamsError } from "./errors.js"
import { STREAM_LOG_PREFIX } from "./stream.js"

/** The `maxStreams` bound: a count kept as streams are created and deleted, recounted from the engine at the bound (at most about once a second). */
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
 * How long a recount answers for, at least: creates and deletes on this node since then adjust
 * it, and other nodes' (and expiries) wait for the next one.
 */
export const RECOUNT_REUSE_MS = 1000
/** A recount answers for this many times as long as it took, when that is longer: listing never takes more than a tenth of the time. */
const RECOUNT_REUSE_FACTOR = 10

/**
 * Counts from the engine only when the kept count is unknown, or at the bound once the last
 * recount is older than {@link RECOUNT_REUSE_MS} (streams expire without telling this node, and
 * other nodes create them), so the common create costs nothing, and creates at the bound share
 * one listing: concurrent ones wait for the one in flight, later ones reuse its result for a
 * while and are answered 429 from it. `now` is the clock (ms).
 */
export function createStreamCount(engine: Engine, max: number, now: () => number = Date.now): StreamCount {
  /** Streams in the engine, as last counted and kept since. */
  let count: number | undefined
  /** Places taken whose create has not finished: not in the engine yet, nor in a recount. */
  let pending = 0
  /** Creates finished on this node, ever: those finished while a recount was out are added to it. */
  let createdEver = 0
  /** Until when the last recount answers at the bound. */
  let freshUntil = Number.NEGATIVE_INFINITY
  /** The recount in flight, shared by every create that needs it. */
  let inFlight: Promise<void> | undefined
  const list = async (): Promise<number> => {
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
  const recount = async (): Promise<void> => {
    const started = now()
    // A create that finished while the engine was listed may be in its total or not: counted
    // once more rather than missed (the next recount sets it right).
    const createdBefore = createdEver
    const total = await list()
    count = total + (createdEver - createdBefore)
    const finished = now()
    freshUntil = finished + Math.max(RECOUNT_REUSE_MS, RECOUNT_REUSE_FACTOR * (finished - started))
  }
  const sharedRecount = (): Promise<void> => {
    inFlight ??= recount().finally(() => {
      inFlight = undefined
    })
    return inFlight
  }
  return {
    async reserve(exists) {
      if (count === undefined || (count + pending >= max && now() >= freshUntil)) await sharedRecount()
      // No await from this check to the place taken, but for a stream that exists: should it go
      // meanwhile, its create passes the bound by one.
      if ((count as number) + pending >= max && !(await exists())) {
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
