import pino from "pino"

/**
 * Where Herald's library code (the server library, the engines, the hub) reports what it cannot
 * throw to a caller: a listener that failed, a trim that will be retried, a request that broke.
 * pino's calling convention — `logger.error({ err }, "what happened")` — so a pino logger, or a
 * child of the application's, can be passed as it is; any object with these four methods works.
 */
export interface Logger {
  error(fields: object, message: string): void
  warn(fields: object, message: string): void
  info(fields: object, message: string): void
  debug(fields: object, message: string): void
}

let fallback: Logger | undefined

/**
 * The logger used when none is given: pino, warnings and errors only, as JSON lines on stderr.
 * Created on first use, so importing Herald opens nothing; one for the whole process.
 */
export function defaultLogger(): Logger {
  fallback ??= pino({ name: "herald", level: "warn" }, pino.destination({ dest: 2, sync: true }))
  return fallback
}

/** A task that runs again and again (a timer's), as its failures are logged. */
export interface FailureStreak {
  /** The task failed: logged if it is the first failure since it last succeeded, else at debug. */
  failed(error: unknown): void
  /** The task succeeded: after failures, one line says it works again. */
  succeeded(): void
  /** It failed last time it ran. */
  readonly failing: boolean
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
    get failing() {
      return failing
    },
  }
}
