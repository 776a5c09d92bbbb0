import { type Logger, repeatedWarning } from "../logger.js"

/**
 * The warnings of the engine being away, which every subscriber would repeat: thousands of
 * clients coming back every few seconds during an outage would log a line each.
 */
export interface EngineAwayWarnings {
  /** A subscriber told to come back: `{ err, client }`. */
  readonly deferred: (fields: object) => void
  /** A subscriber's stream closed, its catch-up read refused: `{ err }`. */
  readonly closed: (fields: object) => void
}

/** The {@link EngineAwayWarnings} of a hub: the first of each at once, then one line with a count every 30 s. */
export function engineAwayWarnings(logger: Logger): EngineAwayWarnings {
  return {
    deferred: repeatedWarning(logger, {
      once: "the engine is unavailable; a subscriber is told to come back",
      more: (count, seconds) =>
        `the engine is unavailable; ${count} more subscribers were told to come back in the last ${seconds} s`,
    }),
    closed: repeatedWarning(logger, {
      once: "the engine is unavailable; closing the subscriber's stream (it resumes from its cursor)",
      more: (count, seconds) =>
        `the engine is unavailable; closed ${count} more subscriber streams in the last ${seconds} s (they resume from their cursors)`,
    }),
  }
}
