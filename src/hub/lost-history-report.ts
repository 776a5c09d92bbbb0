import type { Logger } from "../logger.js"

/** How long a burst of reports is gathered into one log line. */
const WINDOW_MS = 1000

/**
 * What became of a subscriber stream whose next updates are gone from the store: `"closed"`,
 * when they were trimmed under it (a slow replay; the client resumes from its cursor and is told
 * it is too old), or `"continued"`, when the log started over (a Redis restarted without
 * persistence): the stream was told (`herald-id-too-old`) and goes on with the updates stored
 * since.
 */
export type LostHistoryOutcome = "closed" | "continued"

const MESSAGES: Readonly<Record<LostHistoryOutcome, string>> = {
  closed:
    "closed subscriber streams whose next updates are gone from the store (trimmed under a slow replay, or past the tail of a Redis that failed over); their clients resume from their cursors",
  continued:
    "the hub's log started over (its store was emptied, as by a Redis restarted without persistence): the updates it held past what these subscriber streams had received are lost; the streams were sent herald-id-too-old and go on with every update stored since",
}

/**
 * Reports subscriber streams whose next updates are gone from the store. An emptied store
 * reaches every subscriber at once, so a burst is one warning per outcome with its count, not a
 * line per subscriber that would bury it.
 */
export function lostHistoryReport(logger: Logger): (outcome: LostHistoryOutcome) => void {
  const counts: Record<LostHistoryOutcome, number> = { closed: 0, continued: 0 }
  let timer: NodeJS.Timeout | undefined
  return (outcome) => {
    counts[outcome]++
    if (timer !== undefined) return
    timer = setTimeout(() => {
      for (const each of ["continued", "closed"] as const) {
        if (counts[each] > 0) logger.warn({ subscribers: counts[each] }, MESSAGES[each])
        counts[each] = 0
      }
      timer = undefined
    }, WINDOW_MS).unref()
  }
}
