import type { IncomingMessage } from "node:http"
import { type BodyErrors, type BodyLimits, readBody as read } from "../server/body.js"
import { StreamsError } from "./errors.js"

/**
 * The streams' refusals of a body, as {@link StreamsError}s. One sent before the body's end closes
 * the connection once sent, the rest never read (`closeIfBodyUnread` of `server/body.ts`, by way
 * of `sendProblem`: `Connection: close` over HTTP/1, the stream closed over HTTP/2).
 */
const STREAMS_BODY_ERRORS: BodyErrors = {
  tooLarge: (maxBytes) =>
    new StreamsError(
      413,
      `The body is larger than this server accepts (${maxBytes} bytes); append it in parts.`,
    ),
  stalled: (idleMs) =>
    new StreamsError(
      408,
      `The request body stopped arriving for ${idleMs} ms, so the server stopped reading it. Send the body without pauses (the limit is the streams' bodyIdleTimeoutMs; herald serve's --body-idle-timeout).`,
    ),
  // Nobody is left to answer, and the server did nothing wrong: not a failure to log.
  abandoned: () => new StreamsError(400, "The client closed the connection before the request body ended."),
}

/**
 * Reads a request body whole, at most `maxBodyBytes` (past it, or announced larger by
 * `Content-Length`, a 413 before reading on), arriving without a pause longer than
 * `bodyIdleTimeoutMs` (a 408): see `readBody` of `server/body.ts`.
 */
export function readBody(request: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  return read(request, limits, STREAMS_BODY_ERRORS)
}
