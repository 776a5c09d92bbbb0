import type { IncomingMessage, ServerResponse } from "node:http"
import { defaultLogger, type Logger } from "../logger.js"
import { closeIfBodyUnread } from "./body.js"

/** A `node:http` request handler; the promise it returns settles when it is done with the request. */
export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void> | void

const FAILURE_BODY = Buffer.from(
  JSON.stringify({
    type: "about:blank",
    title: "Internal Server Error",
    status: 500,
    detail: "The server failed to handle this request; see its logs.",
  }),
)

/**
 * Answers a request whose handler threw or rejected, and logs it: a 500 problem document when
 * nothing was sent yet; otherwise the connection is cut, since a half-sent response cannot be
 * mended and a client must not take it for a complete one. Never throws.
 */
export function answerFailure(
  request: IncomingMessage,
  response: ServerResponse,
  error: unknown,
  logger: Logger,
): void {
  // The path only: a query may carry a token.
  const path = (request.url ?? "").split("?", 1)[0]
  logger.error({ err: error, method: request.method, path }, "request handler failed")
  try {
    if (response.headersSent || response.destroyed) {
      response.destroy()
      return
    }
    // Headers a handler set before failing may be what failed; none of them belong on this answer.
    for (const name of response.getHeaderNames()) response.removeHeader(name)
    closeIfBodyUnread(response)
    response.writeHead(500, {
      "content-type": "application/problem+json",
      "content-length": String(FAILURE_BODY.length),
      "cache-control": "no-store",
    })
    response.end(FAILURE_BODY)
  } catch {
    response.destroy()
  }
}

/**
 * `handler` behind an error boundary: whatever it throws or rejects is answered with
 * {@link answerFailure} and logged to `logger`, so no request can end the process. The returned
 * handler's promise never rejects.
 */
export function withErrorBoundary(
  handler: RequestHandler,
  logger: Logger = defaultLogger(),
): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  return async (request, response) => {
    try {
      await handler(request, response)
    } catch (error) {
      answerFailure(request, response, error, logger)
    }
  }
}
