/**
 * The engine holds its maximum of logs (`maxLogs` of the memory and sqlite engines), so a log
 * cannot be created: nothing was stored. Unlike an `EngineUnavailableError` it lasts until
 * logs are deleted or expire, or the bound is raised, so retrying at once does not help. Every
 * app answers it as a refusal, not as a failure: the streams with 507, the hub and the AI
 * endpoints with 503.
 */
export class TooManyLogsError extends Error {
  override readonly name = "TooManyLogsError"

  constructor(
    /** The engine's name (`memory`, `sqlite`). */
    readonly engine: string,
    /** The log that could not be created. */
    readonly log: string,
    /** The bound it is at. */
    readonly maxLogs: number,
  ) {
    super(
      `${engine} engine: cannot create ${JSON.stringify(log)}: the engine holds its maximum of ${maxLogs} logs (maxLogs); delete some, let them expire, or raise maxLogs.`,
    )
  }
}
