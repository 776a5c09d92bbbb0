import type { Logger } from "./logger.js"

/** A task that runs again and again (a timer's), as its failures are logged. */
export interface FailureStreak {
  /** The task failed: logged if it is the first failure since it last succeeded, else at debug. */
  failed(error: unknown): void
  /** The task succeeded: after failures, one line says it works again. */
  succeeded(): void
}

/**
 * The log of a task that runs on a timer and fails for as long as its store is away: one line
 * when it starts failing (at `level`), one when it works again (info), and the failures between
 * at debug — not a line a tick for the length of an outage.
 */
export function failureStreak(
  logger: Logger,
  level: "error" | "warn",
  messages: { readonly failed: string; readonly recovered: string },
  fields: object = {},
): FailureStreak {
  let failing = false
  return {
    failed(error) {
      if (failing) logger.debug({ ...fields, err: error }, messages.failed)
      else logger[level]({ ...fields, err: error }, messages.failed)
      failing = true
    },
    succeeded() {
      if (failing) logger.info(fields, messages.recovered)
      failing = false
    },
  }
}
