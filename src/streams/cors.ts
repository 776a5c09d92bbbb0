import type { IncomingMessage, ServerResponse } from "node:http"

/** Who may read streams from a browser page of another origin. */
export interface StreamsCorsOptions {
  /**
   * Allowed origins: `"*"` (the default: streams are read with tokens in headers, never with
   * cookies, so any page may call them) or a list of exact origins (`https://app.example`).
   */
  readonly origins?: "*" | readonly string[]
  /** How long browsers may cache a preflight, in seconds. Default 600. */
  readonly maxAgeSeconds?: number
}

/** Response headers a browser page must be able to read. */
const EXPOSED = [
  "Stream-Next-Offset",
  "Stream-Cursor",
  "Stream-Up-To-Date",
  "Stream-Closed",
  "Stream-TTL",
  "Stream-Expires-At",
  "Stream-SSE-Data-Encoding",
  "Producer-Epoch",
  "Producer-Seq",
  "Producer-Expected-Seq",
  "Producer-Received-Seq",
  "ETag",
  "Location",
  "Content-Type",
  "WWW-Authenticate",
].join(", ")

/** Request headers the protocol's clients send (plus `If-None-Match` for conditional reads). */
const ALLOWED_HEADERS = [
  "Authorization",
  "Content-Type",
  "If-None-Match",
  "Stream-TTL",
  "Stream-Expires-At",
  "Stream-Seq",
  "Stream-Closed",
  "Stream-Forked-From",
  "Stream-Fork-Offset",
  "Stream-Fork-Sub-Offset",
  "Producer-Id",
  "Producer-Epoch",
  "Producer-Seq",
].join(", ")

const ALLOWED_METHODS = "GET, HEAD, POST, PUT, DELETE, OPTIONS"
const NONE: Readonly<Record<string, string>> = Object.freeze({})

/** The streams handler's CORS policy. */
export interface StreamsCors {
  /**
   * The CORS headers of a response to a request from `origin` (none when it is not allowed): one
   * of a fixed set of frozen objects, the same for every request from that origin.
   */
  headersFor(origin: string | undefined): Readonly<Record<string, string>>
  /** Answers a preflight: 204 with the grants, or 403 naming the origin. */
  preflight(request: IncomingMessage, response: ServerResponse): void
}

/** Creates the policy. With a list, the allowed origin is echoed (with `Vary: Origin`), never `*`. */
export function createStreamsCors(options: StreamsCorsOptions = {}): StreamsCors {
  const origins = options.origins ?? "*"
  const any = origins === "*" || origins.includes("*")
  const allowlist = new Set(
    typeof origins === "string" ? [] : origins.map((origin) => origin.replace(/\/+$/, "")),
  )
  const anyHeaders = Object.freeze({
    "access-control-allow-origin": "*",
    "access-control-expose-headers": EXPOSED,
  })
  const maxAge = String(options.maxAgeSeconds ?? 600)
  // Built once per allowed origin: the handler keeps one set of response headers per answer.
  const echoed = new Map(
    [...allowlist].map((origin) => [
      origin,
      Object.freeze({
        "access-control-allow-origin": origin,
        "access-control-expose-headers": EXPOSED,
        vary: "Origin",
      }),
    ]),
  )
  const headersFor = (origin: string | undefined): Readonly<Record<string, string>> => {
    if (origin === undefined) return NONE
    return echoed.get(origin) ?? (any ? anyHeaders : NONE)
  }
  return {
    headersFor,
    preflight(request, response) {
      const origin = request.headers.origin
      if (origin === undefined || !(any || allowlist.has(origin))) {
        response.writeHead(403, { "content-type": "text/plain; charset=utf-8", vary: "Origin" })
        response.end(
          origin === undefined
            ? "A CORS preflight needs an Origin header."
            : `Origin ${origin} may not call these streams: add it to the streams' CORS origins (option cors.origins; herald serve's --cors-origins).`,
        )
        return
      }
      response.writeHead(204, {
        ...headersFor(origin),
        "access-control-allow-methods": ALLOWED_METHODS,
        "access-control-allow-headers": ALLOWED_HEADERS,
        "access-control-max-age": maxAge,
      })
      response.end()
    },
  }
}
