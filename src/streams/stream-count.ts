import type { Engine } from "../engine/engine.js"
import { StreamsError } from "./errors.js"
import { STREAM_LOG_PREFIX } from "./stream.js"

/** The `maxStreams` bound: a count kept as streams are created and deleted, recounted from the engine near the bound. */
export interface StreamCount {
  /** Throws a 429 when creating one more stream would pass the bound. */
  reserve(): Promise<void>
  created(): void
  deleted(): void
}

const PAGE = 1000

/**
 * Counts from the engine only when the kept count is unknown or at the bound (streams expire
 * without telling this node, and other nodes create them), so the common create costs nothing.
 */
export function createStreamCount(engine: Engine, max: number): StreamCount {
  let count: number | undefined
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
    async reserve() {
      if (count === undefined || count >= max) count = await recount()
      if (count >= max) {
        throw new StreamsError(429, `This server holds its maximum of ${max} streams; delete some first.`)
      }
    },
    created() {
      if (count !== undefined) count++
    },
    deleted() {
      if (count !== undefined && count > 0) count--
    },
  }
}
