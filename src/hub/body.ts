import type { IncomingMessage } from "node:http"
import { type BodyErrors, type BodyLimits, bodyChunks as chunksOf, readBody as read } from "../server/body.js"
import { HttpError } from "./http-error.js"

export type { BodyLimits } from "../server/body.js"

/** The hub's refusals of a body, as {@link HttpError}s. */
const HUB_BODY_ERRORS: BodyErrors = {
  tooLarge: (maxBytes) =>
    new HttpError(
      413,
      `The request body is larger than the hub accepts (${maxBytes} bytes). Send smaller updates, or raise the limit with --max-body-bytes.`,
    ),
  // The answer closes the connection (the rest of the body is never read): see closeIfBodyUnread.
  stalled: (idleMs) =>
    new HttpError(
      408,
      `The request body stopped arriving for ${idleMs} ms, so the hub stopped reading it. Send the body without pauses; a streaming publish with nothing to send can send an empty line to stay open (raise the limit with --body-idle-timeout).`,
    ),
  abandoned: () => new HttpError(400, "The client closed the connection before the request body ended."),
}

/**
 * Reads a request body of at most `maxBodyBytes`: past it, or announced larger, a 413
 * {@link HttpError}; a body that stalls, a 408 (see `bodyChunks` of `server/body.ts`).
 */
export function readBody(request: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  return read(request, limits, HUB_BODY_ERRORS)
}

/** {@link HUB_BODY_ERRORS}, but for a body that must arrive whole within the timeout. */
const WHOLE_BODY_ERRORS: BodyErrors = {
  ...HUB_BODY_ERRORS,
  stalled: (timeoutMs) =>
    new HttpError(
      408,
      `The request body did not arrive whole within ${timeoutMs} ms, so the hub stopped reading it. A QUERY subscription sends its matchers at once (raise the limit with --body-idle-timeout).`,
    ),
}

/**
 * {@link readBody} for a body that never needs to stream (a QUERY subscription's matchers):
 * `bodyIdleTimeoutMs` bounds the whole of it, so one byte now and then does not keep it open.
 */
export function readWholeBody(request: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  return read(request, limits, WHOLE_BODY_ERRORS, "whole")
}

/** The chunks of a request body as they arrive; one that stalls for `idleMs` is a 408 {@link HttpError}. */
export function bodyChunks(request: IncomingMessage, idleMs: number): AsyncGenerator<Buffer> {
  return chunksOf(request, idleMs, HUB_BODY_ERRORS)
}

/** Whether the request's `Content-Type` is `mediaType` (parameters ignored). */
export function isMediaType(request: IncomingMessage, mediaType: string): boolean {
  const header = request.headers["content-type"]
  if (header === undefined) return false
  const semicolon = header.indexOf(";")
  return (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase() === mediaType
}
