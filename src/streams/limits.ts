import { DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_JSON_KEYS } from "../auth/json-depth.js"
import { MAX_LOG_NAME } from "../engine/checks.js"
import { DEFAULT_BODY_IDLE_TIMEOUT_MS } from "../server/body.js"
import { assertTimerDelay } from "../timer-delay.js"

/**
 * The longest `maxPathLength` the engine can hold: a fork's marker log names its source's path
 * and its own with 24 characters more (`markerOf` of fork.ts; test/streams/streams.test.ts pins
 * it), and the engine refuses a log name longer than {@link MAX_LOG_NAME}.
 */
export const MAX_PATH_LENGTH = Math.floor((MAX_LOG_NAME - 24) / 2)

/** Bounds of a streams handler: what one request or one client may hold. */
export interface StreamsLimits {
  /** Largest request body (PUT or POST), in bytes; past it a 413. Default 8 MiB. */
  readonly maxBodyBytes: number
  /**
   * How deep arrays and objects may nest in a JSON stream's body (PUT or POST); past it a 400.
   * Stored messages are written back with `JSON.stringify`, which recurses. Default 64.
   */
  readonly maxBodyDepth: number
  /**
   * How many keys one object of a JSON stream's body (PUT or POST) may have; past it a 400.
   * `JSON.parse` of one object of 500 000 keys holds the event loop for a second. Default 10 000.
   */
  readonly maxBodyKeys: number
  /**
   * How many values (array items and object members, at any depth) a JSON stream's body (PUT or
   * POST) may hold; past it a 400. Its parse costs per value: 8 MiB of `{}` (2.8 million) held
   * the event loop a second and more. Default 400 000, twice the AI endpoints' bound, as a
   * stream's body is parsed and not translated: 400 000 hold the loop 70 ms as `{}`, at most
   * 0.13 s as keys of objects of 10 000, and an append of 65 000 messages of five fields (4.4 MiB,
   * four times a Durable Streams client's 1 MiB batch of them) passes.
   */
  readonly maxBodyValues: number
  /**
   * Longest pause in a request body (PUT or POST), ms; past it a 408 and the connection is
   * closed, so a client cannot hold a socket and a part-read body by stopping. Default 60 s
   * (`herald serve`: `--body-idle-timeout`, the hub's).
   */
  readonly bodyIdleTimeoutMs: number
  /**
   * Most streams (per node: counted from the engine when the bound is near, so it holds across
   * restarts, but nodes creating at once may each pass it by a few). Default 40 000: streams
   * and their forks' records take at most twice as many logs, which keeps a fifth of the memory
   * and sqlite engines' 100 000 (`maxLogs`) for the hub and the AI generations sharing them.
   */
  readonly maxStreams: number
  /**
   * Longest stream path (the URL path), in characters; past it a 414 (a `Stream-Forked-From`
   * past it, a 400). Default 500, the most the engine's log names allow ({@link MAX_PATH_LENGTH}).
   */
  readonly maxPathLength: number
  /**
   * Longest `Producer-Id`, in characters; past it a 400. Each producer's state stays with its
   * stream, so this bounds what one id may cost. Default 256 (a UUID is 36).
   */
  readonly maxProducerIdLength: number
  /** How long a long-poll waits for data before its 204. Default 20 s. */
  readonly longPollTimeoutMs: number
  /**
   * How long an SSE response lasts before the server ends it (the client reconnects from its
   * offset): the protocol asks for about 60 s, so that CDNs can collapse readers. Default 60 s.
   */
  readonly sseLifetimeMs: number
  /**
   * Most bytes waiting for one slow SSE reader; past it the response ends and the client resumes
   * from its offset, so a stalled reader never grows the server's memory. Default 256 KiB.
   */
  readonly maxQueuedBytes: number
  /** Most bytes of stream data in one read response (at least one append is always sent). Default 1 MiB. */
  readonly maxReadBytes: number
  /** Most appends read per engine page. Default 1000. */
  readonly readPageEntries: number
}

export const DEFAULT_LIMITS: StreamsLimits = Object.freeze({
  maxBodyBytes: 8 * 1024 * 1024,
  maxBodyDepth: DEFAULT_MAX_JSON_DEPTH,
  maxBodyKeys: DEFAULT_MAX_JSON_KEYS,
  maxBodyValues: 400_000,
  bodyIdleTimeoutMs: DEFAULT_BODY_IDLE_TIMEOUT_MS,
  maxStreams: 40_000,
  maxPathLength: 500,
  maxProducerIdLength: 256,
  longPollTimeoutMs: 20_000,
  sseLifetimeMs: 60_000,
  maxQueuedBytes: 256 * 1024,
  maxReadBytes: 1024 * 1024,
  readPageEntries: 1000,
})

/**
 * The defaults overridden by `given`; throws a RangeError naming a limit that is not a positive
 * integer, a `maxPathLength` past {@link MAX_PATH_LENGTH}, or a timeout past 2^31 - 1 ms.
 */
export function resolveLimits(given: Partial<StreamsLimits> = {}): StreamsLimits {
  const limits = { ...DEFAULT_LIMITS, ...given }
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`The streams limit \`${name}\` must be a positive integer; got ${String(value)}.`)
    }
    // The limits in ms are the delays of timers.
    if (name.endsWith("Ms")) assertTimerDelay(`The streams limit \`${name}\``, value)
  }
  if (limits.maxPathLength > MAX_PATH_LENGTH) {
    throw new RangeError(
      `The streams limit \`maxPathLength\` is at most ${MAX_PATH_LENGTH}: a fork's log names its source's path and its own, and the engine holds names of ${MAX_LOG_NAME} characters at most; got ${limits.maxPathLength}.`,
    )
  }
  return Object.freeze(limits)
}
