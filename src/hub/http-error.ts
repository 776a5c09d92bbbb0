/**
 * A request the hub refuses, with the status to answer and a message a developer can act on.
 * Rendered as an RFC 9457 problem details document (`application/problem+json`).
 */
export class HttpError extends Error {
  readonly status: number
  /** Extra response headers (e.g. `Retry-After` on a 429, `Allow` on a 405). */
  readonly headers: Readonly<Record<string, string>>
  constructor(status: number, message: string, headers: Readonly<Record<string, string>> = {}) {
    super(message)
    this.name = "HttpError"
    this.status = status
    this.headers = headers
  }
}
