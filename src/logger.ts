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
