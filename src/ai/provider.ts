import type { Entry } from "./entries.js"
import type { NormalizedRequest } from "./request.js"

/**
 * A source of generations: an upstream API or the offline demo model.
 *
 * `stream` yields the generation's entries in order. It ends after a `finish` entry (and the
 * usage that may follow it) or after an `error` entry, which is always last. If the upstream
 * refuses before it starts streaming (an HTTP error status, a refused connection), the iteration
 * throws an `UpstreamRequestError` before any entry, so an endpoint can answer in its own shape
 * with the same status. A request the upstream's format cannot express throws a
 * `RequestFieldError` naming the field, also before any entry and before any upstream request.
 *
 * Aborting `signal` aborts the upstream request at once (the connection is closed, so the model
 * stops and bills no more) and the iteration throws `signal.reason`. Ending the iteration early
 * (`break`, `return()`) closes the upstream request too.
 */
export interface Provider {
  /** What this provider is, for logs and `/v1/models`: `openai`, `anthropic`, `demo`. */
  readonly kind: string
  stream(request: NormalizedRequest, signal: AbortSignal): AsyncIterable<Entry>
  /**
   * Throws the `RequestFieldError` that {@link stream} would for `request`, and does nothing
   * else: an endpoint refuses such a request before it counts or keeps anything of it.
   */
  check?(request: NormalizedRequest): void
}
