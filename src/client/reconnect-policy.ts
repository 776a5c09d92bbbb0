import { MAX_TIMER_DELAY } from "./timeouts.js"
import type { ReconnectOptions } from "./types.js"

/** Chromium's initial reconnection time; the spec says "probably in the region of a few seconds". */
const DEFAULT_DELAY = 3000
const DEFAULT_MAX_DELAY = 30_000
const DEFAULT_MAX_RETRY_AFTER = 300_000

/** Per-source reconnection state: the reconnection time, attempts in a row, and the wait before the next one. */
export interface ReconnectPolicy {
  /** The server sent `retry: ms`. */
  setReconnectionTime(ms: number): void
  /** A connection opened: the next drop starts counting from one again. */
  opened(): void
  /**
   * Counts one more attempt and returns how long to wait before it, or `undefined` when
   * `maxAttempts` is used up. `retryAfter` is a server's `Retry-After`, in ms.
   */
  nextDelay(retryAfter?: number): number | undefined
  /** Failed attempts in a row so far. */
  readonly attempts: number
}

/** Creates the reconnection policy for one source. */
export function createReconnectPolicy(options: ReconnectOptions = {}, random = Math.random): ReconnectPolicy {
  const backoff = Math.max(1, options.backoff ?? 1)
  const maxDelay = options.maxDelay ?? DEFAULT_MAX_DELAY
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0))
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY
  const maxRetryAfter = options.maxRetryAfter ?? DEFAULT_MAX_RETRY_AFTER
  let reconnectionTime = Math.min(options.delay ?? DEFAULT_DELAY, MAX_TIMER_DELAY)
  let attempts = 0

  return {
    setReconnectionTime(ms) {
      // Capped here too, so that backoff and jitter compute on finite numbers (Infinity × 0 is NaN).
      reconnectionTime = Math.min(ms, MAX_TIMER_DELAY)
    },
    opened() {
      attempts = 0
    },
    nextDelay(retryAfter) {
      if (attempts >= maxAttempts) return undefined
      attempts++
      // "Wait a delay equal to the reconnection time of the event source" — the user agent "may
      // wait longer", which is what backoff and jitter do; they never wait less.
      // Grown from 1 ms at least: from a `retry: 0`, a backoff would stay 0, a hot loop.
      const base = backoff > 1 ? Math.max(reconnectionTime, 1) : reconnectionTime
      const grown = Math.min(maxDelay, base * backoff ** (attempts - 1))
      let delay = Math.max(reconnectionTime, grown)
      delay += delay * jitter * random()
      if (retryAfter !== undefined) delay = Math.max(delay, Math.min(retryAfter, maxRetryAfter))
      // A huge `retry:` or option would overflow the timer, which then fires at once: a hot loop.
      return Math.min(delay, MAX_TIMER_DELAY)
    },
    get attempts() {
      return attempts
    },
  }
}
