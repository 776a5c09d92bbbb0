/**
 * The engine's store cannot be reached right now (Redis down, failing over, refusing writes).
 * Nothing was acknowledged: an append that rejects with it may or may not have been stored when
 * the connection broke mid-command, so a writer that must not duplicate retries with a producer
 * fence (producer.ts). The hub answers it with 503 and `Retry-After`.
 */
export class EngineUnavailableError extends Error {
  override readonly name = "EngineUnavailableError"
  /**
   * The call reached the store and its answer was lost (a timeout, a connection broken
   * mid-command): a write may have been applied. False when it was never sent.
   */
  readonly maybeApplied: boolean

  constructor(message: string, options?: { cause?: unknown; maybeApplied?: boolean }) {
    super(message, options)
    this.maybeApplied = options?.maybeApplied ?? false
  }
}
