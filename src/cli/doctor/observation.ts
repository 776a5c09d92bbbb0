import type { ServerSentEvent } from "../../protocol/index.js"

/** An event as it arrived: what the parser dispatched, and when. */
export interface ArrivedEvent {
  readonly event: ServerSentEvent
  /** Milliseconds since the request was sent. */
  readonly atMs: number
}

/** The HTTP version the response came over. */
export type HttpVersion = "1.0" | "1.1" | "2"

/**
 * Everything one watch of a stream saw, timed from the moment the request was sent. The checks
 * are pure functions of it, so each can be tested on a hand-made observation.
 */
export interface Observation {
  readonly url: URL
  /** Why no response came (refused, reset, TLS, timeout); the other fields are then empty. */
  readonly connectError: string | undefined
  /** Whether that was no response headers within the timeout (a server or proxy holding them). */
  readonly headersTimedOut?: boolean
  readonly httpVersion: HttpVersion | undefined
  readonly status: number | undefined
  /** Response headers, names lower-cased, repeated ones joined with `, `. */
  readonly headers: Readonly<Record<string, string>>
  readonly headersMs: number | undefined
  /** Body chunks as they came off the wire (before any decompression): arrival time and size. */
  readonly chunks: readonly { readonly atMs: number; readonly bytes: number }[]
  readonly events: readonly ArrivedEvent[]
  /** Arrival times of comment lines (heartbeats). */
  readonly commentsMs: readonly number[]
  /** The `retry:` values, in order. */
  readonly retries: readonly number[]
  /** When the server ended the stream, if it did while watched. */
  readonly endedMs: number | undefined
  /** Why the body failed mid-stream (reset, bad compression), if it did. */
  readonly bodyError: string | undefined
  /** How long the stream was watched (until the deadline or its end). */
  readonly watchedMs: number
  /**
   * The start of the body of a response that is not 200, where servers say why (a problem
   * document's `detail`, an error page); such a response is not watched as a stream.
   */
  readonly errorBody?: string
}
