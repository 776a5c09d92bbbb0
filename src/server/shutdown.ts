import { encode } from "../protocol/index.js"
import type { SSEConnection } from "./connection.js"

/** How a graceful shutdown proceeds. */
export interface ShutdownOptions {
  /** The `retry` (ms) sent to every client before its stream ends: when to come back (to another instance). Default 1000. */
  retryMs?: number
  /** Streams still flushing after this many ms are cut. Default 5000. */
  deadlineMs?: number
  /** A server to stop accepting connections on (`server.close()` is called first). */
  server?: { close(): unknown }
}

export const DEFAULT_SHUTDOWN_RETRY_MS = 1000
export const DEFAULT_SHUTDOWN_DEADLINE_MS = 5000

/**
 * Stops accepting, tells every client when to come back, ends every stream, and cuts whatever is
 * still flushing at the deadline. `retryFrame` is for streams that arrive during the shutdown.
 */
export function shutdownConnections(
  connections: Iterable<SSEConnection>,
  options: ShutdownOptions,
): { retryFrame: string; done: Promise<void> } {
  const retryFrame = encode({ retry: options.retryMs ?? DEFAULT_SHUTDOWN_RETRY_MS })
  const deadlineMs = options.deadlineMs ?? DEFAULT_SHUTDOWN_DEADLINE_MS
  try {
    options.server?.close()
  } catch {
    // Not listening (already closed): nothing to stop.
  }
  const open = [...connections]
  for (const connection of open) {
    connection.writeFrame(retryFrame)
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
