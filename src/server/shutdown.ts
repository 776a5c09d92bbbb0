import { encode } from "../protocol/index.js"
import type { SSEConnection } from "./connection.js"

/** How a graceful shutdown proceeds. */
export interface ShutdownOptions {
  /** The `retry` (ms) sent to every client before its stream ends: when to come back (to another instance). Default 1000. */
  retryMs?: number
  /**
   * Each client is told `retryMs` plus a random share of this window (ms), its own, so that the
   * clients of a stopping server come back spread over the window instead of in one instant.
   * Default 0.
   */
  retryJitterMs?: number
  /** Streams still flushing after this many ms are cut. Default 5000. */
  deadlineMs?: number
  /** A server to stop accepting connections on (`server.close()` is called first). */
  server?: { close(): unknown }
}

export const DEFAULT_SHUTDOWN_RETRY_MS = 1000
export const DEFAULT_SHUTDOWN_DEADLINE_MS = 5000

/**
 * A `retry:` frame for `retryMs` plus a random share of `jitterMs`: one client's reconnection
 * delay, drawn per client so that many told at once do not come back at once.
 */
export function jitteredRetryFrame(retryMs: number, jitterMs: number): string {
  return encode({ retry: retryMs + Math.floor(Math.random() * (jitterMs + 1)) })
}

/**
 * Stops accepting, tells every client when to come back, ends every stream, and cuts whatever is
 * still flushing at the deadline. `retryFrame` draws the frame for a stream that arrives during
 * the shutdown.
 */
export function shutdownConnections(
  connections: Iterable<SSEConnection>,
  options: ShutdownOptions,
): { retryFrame: () => string; done: Promise<void> } {
  const retryMs = options.retryMs ?? DEFAULT_SHUTDOWN_RETRY_MS
  const jitterMs = options.retryJitterMs ?? 0
  const retryFrame = () => jitteredRetryFrame(retryMs, jitterMs)
  const deadlineMs = options.deadlineMs ?? DEFAULT_SHUTDOWN_DEADLINE_MS
  try {
    options.server?.close()
  } catch {
    // Not listening (already closed): nothing to stop.
  }
  const open = [...connections]
  for (const connection of open) {
    connection.writeFrame(retryFrame())
    connection.close("shutdown")
  }
  const allGone = Promise.all(open.map((connection) => connection.whenTransportClosed())).then(() => {})
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      for (const connection of open) connection.destroy("shutdown")
      resolve()
    }, deadlineMs)
  })
  const done = Promise.race([allGone, deadline]).then(() => clearTimeout(timer))
  return { retryFrame, done }
}
