import { defaultLogger, type Logger } from "../logger.js"
import { encode } from "../protocol/index.js"
import { assertTimerDelay } from "../timer-delay.js"
import {
  type CloseListener,
  type ConnectionLimits,
  DEFAULT_CLOSE_FLUSH_MS,
  type SSEConnection,
} from "./connection.js"
import { openFetchConnection } from "./fetch-adapter.js"
import { createHeartbeat, HEARTBEAT_FRAME } from "./heartbeat.js"
import { DEFAULT_LAST_EVENT_ID_PARAMS, readLastEventId } from "./last-event-id.js"
import { type NodeRequestLike, type NodeResponseLike, openNodeConnection } from "./node-adapter.js"
import type { OverflowPolicy } from "./queue.js"
import { type ShutdownOptions, shutdownConnections } from "./shutdown.js"

/** Options for {@link createSSE}. Every limit has a bounded default. */
export interface SSEOptions {
  /** Heartbeat comment interval in ms, one shared timer for all connections. `0` turns it off. Default 15 000. */
  heartbeatMs?: number
  /** The `retry` hint (ms) sent when a stream opens; `null` sends none. Default 3000. */
  retryMs?: number | null
  /** Most bytes queued for one slow client before the overflow policy applies. Default 256 KiB. */
  maxQueuedBytes?: number
  /** What happens when a client's queue is full. Default `"disconnect"`. */
  overflow?: OverflowPolicy
  /**
   * How long a stream ended with `close()` may take to send its last frames before it is cut, ms:
   * a client that stopped reading would otherwise hold its socket and those frames for good.
   * Default 10 000.
   */
  closeFlushMs?: number
  /** Query parameters read for the resume cursor when there is no `Last-Event-ID` header. Default `lastEventId`, `lastEventID`. */
  lastEventIdParams?: readonly string[]
  /** Extra response headers for every stream (CORS and the like). */
  headers?: Readonly<Record<string, string>>
  /** Where failures that cannot be thrown to a caller go (a failed `onConnection`, a close listener that threw). Default: pino on stderr. */
  logger?: Logger
}

/** Options for one stream. */
export interface StreamOptions {
  /** Response headers for this stream only (e.g. the hub's `Last-Event-ID`); they override {@link SSEOptions.headers}. */
  headers?: Readonly<Record<string, string>>
}

/** A set of SSE connections sharing settings, one heartbeat timer and one shutdown. */
export interface SSE {
  /**
   * Opens an event stream on a `node:http` (HTTP/1.1) or `node:http2` compat request/response
   * — also Express's, and Fastify's `request.raw`/`reply.raw` after `reply.hijack()`.
   */
  connect(request: NodeRequestLike, response: NodeResponseLike, options?: StreamOptions): SSEConnection
  /**
   * Opens an event stream for a Fetch-API handler and returns the `Response` to hand back.
   * `onConnection` runs before this returns; if it throws or rejects, the stream is closed.
   */
  response(
    request: Request,
    onConnection: (connection: SSEConnection) => void | Promise<void>,
    options?: StreamOptions,
  ): Response
  /** Open connections. */
  readonly connections: ReadonlySet<SSEConnection>
  /** `true` once {@link SSE.close} was called; new streams are then told to retry and closed. */
  readonly closing: boolean
  /** Graceful shutdown; see {@link ShutdownOptions}. Resolves when every stream is gone. */
  close(options?: ShutdownOptions): Promise<void>
}

/** The heartbeat interval when none is given, ms: under the shortest common proxy idle timeout (60 s). */
export const DEFAULT_HEARTBEAT_MS = 15_000
/** The `retry` hint when none is given, ms. */
export const DEFAULT_RETRY_MS = 3000
/** Bytes queued for one slow client before the overflow policy applies, when no bound is given. */
export const DEFAULT_MAX_QUEUED_BYTES = 256 * 1024

/** Creates an {@link SSE}: the entry point of `herald/server`. */
export function createSSE(options: SSEOptions = {}): SSE {
  const heartbeatMs = nonNegativeInteger("heartbeatMs", options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS)
  assertTimerDelay("heartbeatMs", heartbeatMs)
  const retryMs =
    options.retryMs === null ? null : nonNegativeInteger("retryMs", options.retryMs ?? DEFAULT_RETRY_MS)
  const maxBytes = nonNegativeInteger("maxQueuedBytes", options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES)
  const policy = options.overflow ?? "disconnect"
  if (policy !== "disconnect" && policy !== "drop-oldest") {
    throw new RangeError(`overflow must be "disconnect" or "drop-oldest"; got ${JSON.stringify(policy)}.`)
  }
  const lastEventIdParams = options.lastEventIdParams ?? DEFAULT_LAST_EVENT_ID_PARAMS
  const sharedHeaders = options.headers
  const logger = options.logger ?? defaultLogger()
  const headersFor = (stream: StreamOptions | undefined) =>
    stream?.headers === undefined ? sharedHeaders : { ...sharedHeaders, ...stream.headers }
  // The retry hint doubles as the frame that flushes the headers at once.
  const firstFrame = retryMs === null ? HEARTBEAT_FRAME : encode({ retry: retryMs })

  // Shared by every connection (kept by reference), so an idle connection carries no copy.
  const closeFlushMs = nonNegativeInteger("closeFlushMs", options.closeFlushMs ?? DEFAULT_CLOSE_FLUSH_MS)
  // 0 would drop every stream's last frames: unlike heartbeatMs, there is no "off".
  if (closeFlushMs === 0) throw new RangeError("closeFlushMs must be at least 1; got 0.")
  const limits: ConnectionLimits = Object.freeze({ maxBytes, policy, closeFlushMs })
  const connections = new Set<SSEConnection>()
  const heartbeat = createHeartbeat(heartbeatMs, connections)
  let shutdown: Promise<void> | undefined
  let shutdownRetryFrame = (): string => ""
  const untrack: CloseListener = (_reason, connection) => {
    connections.delete(connection)
    if (connections.size === 0) heartbeat.stop()
  }

  const track = (connection: SSEConnection): SSEConnection => {
    if (shutdown !== undefined) {
      // Shutting down: accept, say when to come back, and end (a non-200 would make EventSource give up for good).
      connection.writeFrame(shutdownRetryFrame())
      connection.close("shutdown")
      return connection
    }
    if (connection.closed) return connection
    connections.add(connection)
    heartbeat.start()
    connection.onClose(untrack)
    return connection
  }

  return {
    connect(request, response, streamOptions) {
      const headers = headersFor(streamOptions)
      const lastEventId = readLastEventId(request.headers["last-event-id"], request.url, lastEventIdParams)
      return track(
        openNodeConnection(request, response, { lastEventId, limits, headers, firstFrame, logger }),
      )
    },
    response(request, onConnection, streamOptions) {
      const headers = headersFor(streamOptions)
      const lastEventId = readLastEventId(
        request.headers.get("last-event-id"),
        request.url,
        lastEventIdParams,
      )
      const opened = openFetchConnection(request, { lastEventId, limits, headers, firstFrame, logger })
      const connection = track(opened.connection)
      const fail = (error: unknown): void => {
        logger.error(
          { err: error },
          "herald/server: the SSE connection handler failed; the stream was closed",
        )
        connection.destroy()
      }
      try {
        const result = onConnection(connection)
        if (result instanceof Promise) result.catch(fail)
      } catch (error) {
        fail(error)
      }
      return opened.response
    },
    get connections() {
      return connections
    },
    get closing() {
      return shutdown !== undefined
    },
    close(shutdownOptions = {}) {
      if (shutdown === undefined) {
        heartbeat.stop()
        const result = shutdownConnections(connections, shutdownOptions)
        shutdownRetryFrame = result.retryFrame
        shutdown = result.done
      }
      return shutdown
    },
  }
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer; got ${String(value)}.`)
  }
  return value
}
