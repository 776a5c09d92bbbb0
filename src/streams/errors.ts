import type { ServerResponse } from "node:http"

type Headers = Readonly<Record<string, string>>

const TITLES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  413: "Content Too Large",
  414: "URI Too Long",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
}

/**
 * A refusal the protocol defines (a status, the reason a developer can act on, and the headers
 * that go with it, such as `Stream-Closed` on a 409). Thrown by the operations and answered by
 * the handler as an RFC 9457 problem document.
 */
export class StreamsError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Headers = {},
  ) {
    super(message)
    this.name = "StreamsError"
  }
}

/** Sends an RFC 9457 problem document whose `detail` says what to change. */
export function sendProblem(
  response: ServerResponse,
  status: number,
  detail: string,
  headers: Headers = {},
): void {
  if (response.headersSent || response.destroyed) return
  const body = Buffer.from(
    JSON.stringify({ type: "about:blank", title: TITLES[status] ?? "Error", status, detail }),
  )
  response.writeHead(status, {
    ...headers,
    "content-type": "application/problem+json",
    "content-length": String(body.length),
    "cache-control": "no-store",
  })
  response.end(body)
}
