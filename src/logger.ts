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

/** How often a {@link repeatedWarning} says how many more times it happened: at most this often. */
export const REPEATED_WARNING_MS = 30_000

/** The lines of a {@link repeatedWarning}. */
export interface RepeatedWarningMessages {
  /** The first time, with its own fields. */
  readonly once: string
  /** The ones since the last line: `count` of them over about `seconds`. */
  readonly more: (count: number, seconds: number) => string
}

/**
 * The log of a warning that every request repeats while its cause lasts (the store away: every
 * subscriber told to come back, every AI request refused): the first at once, the next ones at
 * debug and counted, and at most one warning every 30 s saying how many there were (with the last
 * one's fields, and the count as `count`) — not a line per client, thousands of them retrying
 * every few seconds, that buries the line saying why. Nothing is logged while it does not happen.
 */
export function repeatedWarning(logger: Logger, messages: RepeatedWarningMessages): (fields: object) => void {
  let count = 0
  let last: object = {}
  /** Counting since the last warning: until it fires, the next ones are only counted. */
  let window: NodeJS.Timeout | undefined
  const close = (): void => {
    if (count === 0) {
      window = undefined
      return
    }
    logger.warn({ ...last, count }, messages.more(count, REPEATED_WARNING_MS / 1000))
    count = 0
    window = setTimeout(close, REPEATED_WARNING_MS).unref()
  }
  return (fields) => {
    if (window === undefined) {
      logger.warn(fields, messages.once)
      window = setTimeout(close, REPEATED_WARNING_MS).unref()
      return
    }
    logger.debug(fields, messages.once)
    count++
    last = fields
  }
}
