/**
 * The engine's storage has no room left (the sqlite engine's disk is full), so a write failed:
 * nothing of it was stored. Unlike an `EngineUnavailableError` it lasts until space is freed, so
 * retrying at once does not help; reads are still served. Every app answers it 507 Insufficient
 * Storage.
 */
export class StorageFullError extends Error {
  override readonly name = "StorageFullError"

  constructor(
    /** The engine's name (`sqlite`). */
    readonly engine: string,
    /** The file that could not grow: the disk holding it is full. */
    readonly path: string,
    options?: ErrorOptions,
  ) {
    super(
      `${engine} engine: the disk holding ${path} is full, so nothing was stored; free space on it, or keep less (a lower retention).`,
      options,
    )
  }
}
