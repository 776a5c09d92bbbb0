/**
 * The engine's storage has no room left, so a write failed: nothing of it was stored. The sqlite
 * engine's disk is full, Redis is past its `maxmemory` (with `maxmemory-policy noeviction`), or
 * the memory engine at its `maxBytes`.
 * Unlike an `EngineUnavailableError` it lasts until room is made, so retrying at once does not
 * help; reads are still served. Every app answers it 507 Insufficient Storage.
 */
export class StorageFullError extends Error {
  override readonly name = "StorageFullError"

  constructor(
    /** The engine's name (`memory`, `sqlite`, `redis`). */
    readonly engine: string,
    /** What is full, as a sentence names it: "the disk holding /data/herald.db", "Redis at 10.0.0.5:6379". */
    readonly store: string,
    /** What makes room, for an operator: "free space on it", "raise its maxmemory". */
    readonly remedy: string,
    options?: ErrorOptions,
  ) {
    super(
      `${engine} engine: ${store} is full, so nothing was stored; ${remedy}, or keep less (a lower retention).`,
      options,
    )
  }
}
