/**
 * The engine's store cannot be reached right now (Redis down, failing over, refusing writes).
 * Nothing was acknowledged: an append that rejects with it may or may not have been stored when
 * the connection broke mid-command, so a writer that must not duplicate retries with a producer
 * fence (producer.ts). The hub answers it with 503 and `Retry-After`.
 */
export class EngineUnavailableError extends Error {
  override readonly name = "EngineUnavailableError"

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}
