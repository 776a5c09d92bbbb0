import type { IncomingMessage, ServerResponse } from "node:http"
import type { Logger } from "../logger.js"
import { type RequestHandler, withErrorBoundary } from "../server/index.js"
import { sendProblem } from "../server/problem.js"

/**
 * An app `herald serve` mounts (the hub, health and metrics; Durable Streams, AI, the web pages
 * next): the paths it owns and the handler that answers them. Each is also usable alone.
 */
export interface Mount {
  /** What it serves, for the 404 that lists what is here (`the Mercure hub at /.well-known/mercure`). */
  readonly serves: string
  /** Whether it answers `path` (a request's path, without its query). */
  owns(path: string): boolean
  readonly handle: RequestHandler
}

/** A mount's `owns` for a fixed set of paths. */
export function exactPaths(...paths: string[]): (path: string) => boolean {
  const owned = new Set(paths)
  return (path) => owned.has(path)
}

/**
 * One `node:http` request listener for several apps: each request goes to the first mount that
 * owns its path (so a catch-all goes last), or gets a 404 naming what is served.
 *
 * It is the error boundary of every request: whatever a handler throws or rejects is logged,
 * and answered with a 500 problem document, or by cutting the connection if the response had
 * begun; the process goes on. The promise it returns never rejects.
 */
export function createRouter(
  mounts: readonly Mount[],
  logger: Logger,
): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  const served = mounts.map((mount) => mount.serves).join("; ")
  return withErrorBoundary((request, response) => {
    const path = pathOf(request.url)
    if (path === undefined) {
      sendProblem(response, 400, "The request target is not a valid URL path.")
      return
    }
    const mount = mounts.find((candidate) => candidate.owns(path))
    if (mount === undefined) {
      sendProblem(response, 404, `Nothing here. This server answers ${served}.`)
      return
    }
    return mount.handle(request, response)
  }, logger)
}

/** The path of a request target, parsed as the apps parse it, or `undefined` if it is not a URL. */
function pathOf(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? "/", "http://localhost").pathname
  } catch {
    return undefined
  }
}
