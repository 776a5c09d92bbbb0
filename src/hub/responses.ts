import type { ServerResponse } from "node:http"
import { type AuthError, bearerChallenge } from "../auth/errors.js"
import { closeIfBodyUnread } from "../server/body.js"
import { sendProblem } from "../server/problem.js"
import { HttpError } from "./http-error.js"

type Headers = Readonly<Record<string, string>>

/**
 * Sends a short text body: `text/plain; charset=utf-8`, unless `headers` gives another
 * `content-type` (Prometheus's exposition format names its version in it).
 */
export function sendText(
  response: ServerResponse,
  status: number,
  text: string,
  headers: Headers = {},
): void {
  if (response.headersSent || response.destroyed) return
  closeIfBodyUnread(response)
  response.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    ...headers,
    "content-length": String(Buffer.byteLength(text)),
    "cache-control": "no-store",
  })
  // A Buffer body makes Node write the head as Latin-1, byte for byte (see toHeaderValue).
  response.end(Buffer.from(text))
}

/** Sends a JSON document. */
export function sendJson(
  response: ServerResponse,
  status: number,
  document: unknown,
  headers: Headers = {},
  contentType = "application/json",
): void {
  if (response.headersSent || response.destroyed) return
  const body = JSON.stringify(document)
  closeIfBodyUnread(response)
  response.writeHead(status, {
    ...headers,
    "content-type": contentType,
    "content-length": String(Buffer.byteLength(body)),
  })
  // A Buffer body makes Node write the head as Latin-1, byte for byte (see toHeaderValue).
  response.end(Buffer.from(body))
}

/**
 * Sends an authorization failure: the status, the RFC 6750 `WWW-Authenticate: Bearer` challenge
 * (pointing at the protected resource metadata), and the same reason in the body, since the
 * challenge is easy to miss in a browser's network tab.
 */
export function sendAuthError(
  response: ServerResponse,
  error: AuthError,
  metadataUrl: string,
  headers: Headers = {},
): void {
  sendProblem(response, error.status, error.description, {
    ...headers,
    "www-authenticate": bearerChallenge(error, metadataUrl),
  })
}

/** Sends whatever a handler threw: an {@link HttpError} as itself, anything else as a 500. */
export function sendError(response: ServerResponse, error: unknown, headers: Headers = {}): void {
  if (error instanceof HttpError) {
    sendProblem(response, error.status, error.message, { ...headers, ...error.headers })
  } else {
    sendProblem(response, 500, "The hub failed to handle this request; see its logs.", headers)
  }
}
