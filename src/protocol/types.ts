/** One event dispatched by the parser, as the WHATWG "dispatch the event" step builds it. */
export interface ServerSentEvent {
  /** The `event` field, or `"message"` when the block had none (or an empty one). */
  type: string
  /** The `data` lines joined with LF (the final LF removed). */
  data: string
  /** The spec's sticky "last event ID" at dispatch time: it persists across events until an `id` field changes it. */
  lastEventId: string
}

/** Callbacks the parser calls while it reads a stream. */
export interface ParserHandlers {
  /** Called once for every dispatched event, in stream order. */
  onEvent(event: ServerSentEvent): void
  /**
   * Called with the new reconnection time when a valid `retry` field (ASCII digits only) arrives.
   * A value past `Number.MAX_SAFE_INTEGER` is reported as `Number.MAX_SAFE_INTEGER`. Before handing
   * it to `setTimeout`, cap it at 2^31 - 1: a longer delay overflows and fires at once.
   */
  onRetry?(ms: number): void
  /** Called for each comment line (`:` first), without the colon and one following space. */
  onComment?(text: string): void
}

/** Options for {@link createParser}. */
export interface ParserOptions {
  /** Start with this last event ID (a resumed connection), as if an `id` field had set it. */
  lastEventId?: string
  /**
   * The most characters (UTF-16 code units) the parser will buffer for one event: the data
   * gathered so far plus an unterminated line. Past it, `feed` throws a {@link ParseError} with
   * code `"event-too-large"`. Default 32 MiB; `Infinity` lifts the bound.
   */
  maxEventSize?: number
}

/** A streaming text/event-stream parser. Create one with {@link createParser}. */
export interface Parser {
  /** Parse the next piece of the stream. Bytes are decoded as streaming UTF-8 (a character may straddle chunks). */
  feed(chunk: string | Uint8Array): void
  /** End of stream: an unterminated block is discarded. The parser can then read a new stream (a reconnection). */
  end(): void
  /** The last event ID string: set at each blank line, including by blocks that dispatch nothing. */
  readonly lastEventId: string
}

/** The fields {@link encode} writes. */
export interface EventFields {
  /** The payload; CR, LF and CRLF inside it become separate `data:` lines. */
  data?: string
  /** The event type (`event:` field). Must not contain CR, LF or NUL. */
  event?: string
  /** The event ID (`id:` field). Must not contain CR, LF or NUL. An empty string resets the client's last event ID. */
  id?: string
  /** Reconnection time in milliseconds: a non-negative integer. */
  retry?: number
  /** A comment line; clients ignore it. Handy as a heartbeat. */
  comment?: string
}
