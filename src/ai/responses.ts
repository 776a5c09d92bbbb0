import type { ServerResponse } from "node:http"
import { AuthError, bearerChallenge } from "../auth/errors.js"
import { closeIfBodyUnread } from "../server/body.js"
import { BodyError } from "./json-body.js"
import { RequestFieldError } from "./request-field-error.js"
import type { ErrorDetails, WireFormat } from "./wire-format.js"

/** Answers `body` as JSON with `status`; nothing when its client is gone. */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (response.destroyed) return
  const text = JSON.stringify(body)
  closeIfBodyUnread(response)
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  })
  response.end(text)
}

/** Answers an error in `format`'s own shape. */
export function sendFormatError(
  response: ServerResponse,
  format: WireFormat,
  status: number,
  message: string,
  details?: ErrorDetails,
  headers?: Readonly<Record<string, string>>,
): void {
  sendJson(response, status, format.error(status, message, details), headers)
}

/**
 * Answers what a request's handling threw, when it is the client's doing (a token, a body, a
 * field), in `format`'s shape; `false` for anything else, which the caller rethrows.
 */
export function sendClientError(response: ServerResponse, format: WireFormat, error: unknown): boolean {
  if (error instanceof AuthError) {
    const refusal = authRefusal(error)
    const { code } = refusal
    sendFormatError(
      response,
      format,
      refusal.status,
      refusal.message,
      code === undefined ? {} : { code },
      refusal.headers,
    )
    return true
  }
  if (error instanceof BodyError) {
    sendFormatError(response, format, error.status, error.message)
    return true
  }
  if (error instanceof RequestFieldError) {
    sendFormatError(response, format, 400, error.message, { param: error.field })
    return true
  }
  return false
}

/** A refusal of a request, before it is answered in an endpoint's own shape. */
export interface Refusal {
  readonly status: number
  readonly message: string
  /** The error code (`missing_token`, `insufficient_scope`, `not_found`). */
  readonly code: string | undefined
  /** A 401's `WWW-Authenticate` challenge. */
  readonly headers: Readonly<Record<string, string>>
}

/** What a token refused by authentication answers: a 401 with its Bearer challenge, or a 400. */
export function authRefusal(error: AuthError): Refusal {
  const unauthorized = error.status === 401
  return {
    status: error.status,
    message: error.description,
    code: unauthorized ? (error.code ?? "missing_token") : error.code,
    headers: unauthorized ? { "www-authenticate": bearerChallenge(error, undefined) } : {},
  }
}
