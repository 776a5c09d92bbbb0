import type { ServerResponse } from "node:http"
import { closeIfBodyUnread } from "./body.js"

/**
 * RFC 9457 problem details: the one shape every Herald app answers a refusal in. The `title` is
 * the status's own phrase (RFC 9110's names), the `detail` says what to change.
 */

const TITLES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
  507: "Insufficient Storage",
}

/**
 * Sends a problem document (`application/problem+json`, `no-store`) with `headers` beside it;
 * nothing when the response has begun or its connection is gone.
 */
export function sendProblem(
  response: ServerResponse,
  status: number,
  detail: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (response.headersSent || response.destroyed) return
  const body = Buffer.from(
    JSON.stringify({ type: "about:blank", title: TITLES[status] ?? "Error", status, detail }),
  )
  closeIfBodyUnread(response)
  response.writeHead(status, {
    ...headers,
    "content-type": "application/problem+json",
    "content-length": String(body.length),
    "cache-control": "no-store",
  })
  // A Buffer body makes Node write the head as Latin-1, byte for byte (see toHeaderValue).
  response.end(body)
}
