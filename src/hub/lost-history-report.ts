import type { Logger } from "../logger.js"

/** How long a burst of closes is gathered into one log line. */
const WINDOW_MS = 1000

/**
 * Reports subscriber streams closed because the updates they had yet to receive are gone from
 * the store: emptied (a Redis restarted without persistence), or trimmed under a slow replay.
 * An emptied store closes every subscriber at once, so a burst is one warning with its count,
 * not a line per subscriber that would bury it.
 */
export function lostHistoryReport(logger: Logger): () => void {
  let closed = 0
  let timer: NodeJS.Timeout | undefined
  return () => {
    closed++
    if (timer !== undefined) return
    timer = setTimeout(() => {
      logger.warn(
        { subscribers: closed },
        "closed subscriber streams whose next updates are gone from the store (emptied, as by a Redis restarted without persistence, or trimmed under a slow replay); their clients resume from their cursors",
      )
      closed = 0
      timer = undefined
    }, WINDOW_MS).unref()
  }
}
