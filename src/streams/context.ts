import type { IncomingMessage, ServerResponse } from "node:http"
import type { Engine, Retention } from "../engine/engine.js"
import type { Logger } from "../logger.js"
import type { SSE } from "../server/index.js"
import type { StreamsCaller } from "./auth.js"
import type { StreamsLimits } from "./limits.js"
import type { LiveReaderTtl } from "./live-reader-ttl.js"
import type { LiveFrames } from "./sse-events.js"
import type { Stream } from "./stream.js"
import type { StreamCount } from "./stream-count.js"
import type { RequestTarget } from "./target.js"

/** What every operation shares: the engine and the handler's settings. */
export interface StreamsContext {
  readonly engine: Engine
  readonly limits: StreamsLimits
  readonly logger: Logger
  /** Tokens are checked: cacheable reads are `private`. */
  readonly authenticated: boolean
  /** The retention of every stream's log (`undefined`: the engine's). */
  readonly retention: Retention | undefined
  readonly streamCount: StreamCount
  /** Removes stale fork markers a few at each new fork. */
  readonly forkMarkers: ForkMarkerSweep
  /** Renews the markers of forks with a sliding TTL as requests touch the forks. */
  readonly forkMarkerTtl: ForkMarkerTtl
  /** The open SSE responses: their bounded queues, heartbeats and shutdown. */
  readonly sse: SSE
  /** The frame of the last live batch, shared by its stream's SSE readers. */
  readonly liveFrames: LiveFrames
  /** Keeps the streams that live reads (long-poll, SSE) hold open from expiring by their TTL. */
  readonly liveReaderTtl: LiveReaderTtl
  /** Owns `path`: a stream path of this handler (fork sources must be). */
  owns(path: string): boolean
  /** Takes a connection slot for a live read until its response is gone; throws a 429 at a bound. */
  admit(request: IncomingMessage, response: ServerResponse): void
}

/** Sweeps a source's stale fork markers a few at a time (fork-marker-sweep.ts); one per streams handler. */
export interface ForkMarkerSweep {
  /**
   * Looks at the next markers of `source` after those looked at last. `now` is the engine's time,
   * as a marker made now has it in its `createdAt`.
   */
  sweep(context: StreamsContext, source: string, now: number): Promise<void>
}

/** Renews the markers of the forks this node's requests touch (fork-marker-ttl.ts); one per streams handler. */
export interface ForkMarkerTtl {
  /**
   * Called once a request touched `stream` (slid its TTL): renews its marker if it is a fork with
   * a sliding TTL and this node did not lately.
   */
  touched(stream: Stream): Promise<void>
}

/** One request to a stream. */
export interface StreamRequest {
  /** The stream's path: the request's URL path, as sent. */
  readonly path: string
  /** Its URL, parsed when read. */
  readonly target: RequestTarget
  readonly request: IncomingMessage
  readonly response: ServerResponse
  readonly caller: StreamsCaller
  /** Security and CORS headers every response carries. */
  readonly baseHeaders: Readonly<Record<string, string>>
}

/** A complete response. */
export interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body?: Buffer
}

/** Sends a {@link Reply} (a HEAD's body is never sent, its headers are). */
export function sendReply(request: StreamRequest, reply: Reply): void {
  const { response } = request
  if (response.headersSent || response.destroyed) return
  const headers: Record<string, string> = { ...request.baseHeaders, ...reply.headers }
  if (reply.body !== undefined) headers["content-length"] = String(reply.body.length)
  response.writeHead(reply.status, headers)
  response.end(request.request.method === "HEAD" ? undefined : reply.body)
}
