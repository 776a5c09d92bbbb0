import type { IncomingMessage, ServerResponse } from "node:http"

/** Response headers the browser must be able to read on cross-origin responses. */
const EXPOSED = "Mercure-Last-Event-ID, Last-Event-ID, Link, WWW-Authenticate, Content-Type"
/** Request headers subscribers and publishers send: the token, the resume cursor (EventSource reconnects), the body type. */
const ALLOWED_HEADERS = "Authorization, Last-Event-ID, Content-Type, Cache-Control"
const ALLOWED_METHODS = "GET, QUERY, POST, OPTIONS"
const NONE: Readonly<Record<string, string>> = Object.freeze({})

/** CORS for the hub: an explicit origin allowlist with credentials, or `*` without. */
export interface Cors {
  /** The CORS response headers for a request from `origin` (none if it is not allowed). */
  headersFor(origin: string | undefined): Readonly<Record<string, string>>
  /** Whether `origin` is on the allowlist (or the hub allows any origin without credentials). */
  allows(origin: string): boolean
  /**
   * Whether a request from `origin` may act on ambient authority — a cookie, or a dev-mode
   * local client's address: the hub's own origin, or one named on the allowlist. `*` never
   * counts: it allows any site to read public data, and no site to use what the browser attaches.
   */
  trusts(origin: string): boolean
  /** Answers a preflight: 204 with the grants, or 403 naming the origin to add. */
  preflight(request: IncomingMessage, response: ServerResponse): void
}

/**
 * Creates the hub's CORS policy. With an allowlist, the allowed origin is echoed with
 * `Access-Control-Allow-Credentials: true` (so cookies work), never `*`, and never an origin off
 * the list — draft-08: reflecting arbitrary origins on a credentialed endpoint lets any site read
 * a subscriber's updates. `["*"]` allows every origin, without credentials. `hubOrigin` is the
 * hub's own origin (same-origin requests need no CORS, but are trusted with cookies).
 */
export function createCors(origins: readonly string[], hubOrigin: string): Cors {
  const any = origins.includes("*")
  const allowlist = new Set(
    origins.filter((origin) => origin !== "*").map((origin) => origin.replace(/\/+$/, "")),
  )
  const cache = new Map<string, Readonly<Record<string, string>>>()
  const allows = (origin: string): boolean => any || allowlist.has(origin)
  const headersFor = (origin: string | undefined): Readonly<Record<string, string>> => {
    if (origin === undefined) return NONE
    if (allowlist.has(origin)) {
      let headers = cache.get(origin)
      if (headers === undefined) {
        headers = Object.freeze({
          "access-control-allow-origin": origin,
          "access-control-allow-credentials": "true",
          "access-control-expose-headers": EXPOSED,
          vary: "Origin",
        })
        cache.set(origin, headers)
      }
      return headers
    }
    if (any) return { "access-control-allow-origin": "*", "access-control-expose-headers": EXPOSED }
    return NONE
  }
  return {
    headersFor,
    allows,
    trusts: (origin) => origin === hubOrigin || allowlist.has(origin),
    preflight(request, response) {
      const origin = request.headers.origin
      if (origin === undefined || !allows(origin)) {
        response.writeHead(403, { "content-type": "text/plain; charset=utf-8", vary: "Origin" })
        response.end(
          origin === undefined
            ? "A CORS preflight needs an Origin header."
            : `Origin ${origin} is not allowed. Add it to the hub's CORS origins (--cors-origins ${origin}).`,
        )
        return
      }
      response.writeHead(204, {
        ...headersFor(origin),
        "access-control-allow-methods": ALLOWED_METHODS,
        "access-control-allow-headers": ALLOWED_HEADERS,
        "access-control-max-age": "600",
      })
      response.end()
    },
  }
}
