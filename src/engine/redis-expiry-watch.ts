/**
 * Redis expires a log's keys without a word, so the watchers of an expiring log that nobody
 * writes again would wait for ever, where the memory and sqlite engines tell them when they drop
 * it. So for each expiring log watched on this node, one timer at its expiry: then its head is
 * read again. A log gone has its sinks told `onLost` (they re-read and find it missing, as on
 * the other engines); one still there (a sliding TTL moved on) gets its timer again, for its new
 * expiry. A log that never expires costs one head read when its first watch begins; one not made
 * yet (the hub's log before its first update) is looked at again every few seconds until it is,
 * and at once when the engine learns it was made ({@link ExpiryWatch.made}: this node made it, or
 * the log's channel carried an append or said it was made): one made and expired between two
 * looks is told too.
 */

import type { Logger } from "../logger.js"
import { MAX_TIMER_DELAY_MS } from "../timer-delay.js"
import type { LogHead } from "./engine.js"

/** After a failed head read, or while the log is not made yet, the next look. */
const RETRY_MS = 5_000

/** What {@link createExpiryWatch} needs of the engine. */
export interface ExpiryWatchOptions {
  head(log: string): Promise<LogHead | undefined>
  /** The log is gone: its local sinks re-read. */
  lost(log: string): void
  /** The engine's clock. */
  now(): number
  logger: Logger
}

/** Keeps one expiry timer per watched log; `watch` returns the function that lets go of it. */
export interface ExpiryWatch {
  watch(log: string): () => void
  /**
   * `log` exists (or did a moment ago): a watch that has not found it yet looks at once, not at
   * its next retry, and counts it made, so that its absence then means it is gone. Costs nothing
   * for a log not watched here or already found.
   */
  made(log: string): void
  /**
   * `log` was deleted: a watch still held looks at once, for its next incarnation's expiry, and
   * from then on as for a log not made yet (at once when {@link made} says it is), not at the
   * deleted one's expiry.
   */
  gone(log: string): void
  close(): void
}

interface Watched {
  count: number
  timer: NodeJS.Timeout | undefined
  /**
   * A look found the log, or it was made before the look under way began: its absence later
   * means it is gone.
   */
  seen: boolean
  /** A head read is under way. */
  looking: boolean
  /** Made while a head read was under way, which may have read before: the next look counts it seen. */
  madeMeanwhile: boolean
  /** Deleted while a head read was under way, which may have read the deleted log: looked at again. */
  deletedMeanwhile: boolean
}

export function createExpiryWatch(options: ExpiryWatchOptions): ExpiryWatch {
  const watched = new Map<string, Watched>()
  let closed = false
  const arm = (log: string, entry: Watched, ms: number) => {
    // An expiry later than the longest timer is looked at again when that one fires.
    entry.timer = setTimeout(() => void look(log, entry), Math.min(Math.max(0, ms), MAX_TIMER_DELAY_MS))
    entry.timer.unref()
  }
  const look = async (log: string, entry: Watched) => {
    if (closed) return
    entry.timer = undefined
    entry.looking = true
    if (entry.madeMeanwhile) {
      entry.seen = true
      entry.madeMeanwhile = false
    }
    let head: LogHead | undefined
    try {
      head = await options.head(log)
    } catch (error) {
      entry.looking = false
      options.logger.debug(
        { err: error, log },
        "herald redis engine: a watched log's expiry could not be read",
      )
      if (watched.get(log) === entry) arm(log, entry, RETRY_MS)
      return
    }
    entry.looking = false
    if (watched.get(log) !== entry) return
    if (entry.deletedMeanwhile) {
      entry.deletedMeanwhile = false
      entry.madeMeanwhile = false
      entry.seen = false
      void look(log, entry)
      return
    }
    if (head === undefined) {
      // Watched before it is made: it may be made, with an expiry, later. Made while this read
      // was under way: it may have read before, so look again at once.
      if (!entry.seen) {
        if (entry.madeMeanwhile) void look(log, entry)
        else arm(log, entry, RETRY_MS)
        return
      }
      // Gone, but still watched: the log may be made again, with an expiry of its own, and its
      // watchers told again when that one goes. Made while this read was under way: perhaps again
      // after it read, so look at once (as for a log not made yet: not found, nothing is told).
      // The next look is set first: a sink that lets go of the last watch as it is told ends it.
      entry.seen = false
      const madeAgain = entry.madeMeanwhile
      entry.madeMeanwhile = false
      if (madeAgain) void look(log, entry)
      else arm(log, entry, RETRY_MS)
      options.lost(log)
      return
    }
    // Found: a make told meanwhile is this incarnation's, not a later one to count seen.
    entry.seen = true
    entry.madeMeanwhile = false
    if (head.expiresAt !== undefined) arm(log, entry, head.expiresAt - options.now())
  }
  return {
    watch(log) {
      if (closed) return () => {}
      let entry = watched.get(log)
      if (entry === undefined) {
        entry = {
          count: 0,
          timer: undefined,
          seen: false,
          looking: false,
          madeMeanwhile: false,
          deletedMeanwhile: false,
        }
        watched.set(log, entry)
        void look(log, entry)
      }
      entry.count++
      const held = entry
      let released = false
      return () => {
        if (released) return
        released = true
        if (--held.count > 0 || watched.get(log) !== held) return
        clearTimeout(held.timer)
        watched.delete(log)
      }
    },
    made(log) {
      const entry = watched.get(log)
      if (entry === undefined) return
      if (entry.looking) {
        entry.madeMeanwhile = true
        return
      }
      if (entry.seen) return
      clearTimeout(entry.timer)
      entry.seen = true
      void look(log, entry)
    },
    gone(log) {
      const entry = watched.get(log)
      if (entry === undefined) return
      entry.seen = false
      if (entry.looking) {
        entry.deletedMeanwhile = true
        return
      }
      // A look, not a wait: the delete's notification may come after the log was made again. What
      // it finds is the next incarnation, or nothing: the delete itself told the watchers.
      entry.madeMeanwhile = false
      clearTimeout(entry.timer)
      void look(log, entry)
    },
    close() {
      closed = true
      for (const entry of watched.values()) clearTimeout(entry.timer)
      watched.clear()
    },
  }
}
