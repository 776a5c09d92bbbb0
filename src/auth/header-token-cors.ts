import type { IncomingMessage, ServerResponse } from "node:http"

/** Which page origins may call an app whose tokens travel in headers, never in cookies. */
export interface HeaderTokenCorsOptions {
  /** `"*"` for any origin, or a list of exact origins (`https://app.example`); `"*"` in it allows any. */
  readonly origins: "*" | readonly string[]
  /** How long browsers may cache a preflight, in seconds. Default 600. */
  readonly maxAgeSeconds?: number
}

/** What an app grants the pages it allows: the headers and methods of its protocol. */
export interface CorsGrants {
  /** The app as a refusal names it: "these streams", "the AI endpoints". */
  readonly name: string
  /** Response headers a page must be able to read. */
  readonly exposedHeaders: readonly string[]
  /** Request headers a page may send. */
  readonly allowedHeaders: readonly string[]
  /** Methods a page may use, OPTIONS included. */
  readonly methods: readonly string[]
  /** Where an operator adds an origin, for the refusal ("the streams' `cors.origins`"). */
  readonly howToAllow: string
}

/** An app's CORS policy. */
export interface HeaderTokenCors {
  /**
   * The CORS headers of a response to a request from `origin` (none when it is not allowed): one
   * of a fixed set of frozen objects, the same for every request from that origin.
   */
  headersFor(origin: string | undefined): Readonly<Record<string, string>>
  /** Answers a preflight: 204 with the grants, or 403 naming the origin and where to add it. */
  preflight(request: IncomingMessage, response: ServerResponse): void
}

const NONE: Readonly<Record<string, string>> = Object.freeze({})
/** No grant, from a policy whose answer depends on the origin: caches must key on it. */
const NONE_BY_ORIGIN: Readonly<Record<string, string>> = Object.freeze({ vary: "Origin" })

/**
 * Creates the CORS policy of an app whose tokens travel in headers: no credentials, so `*` lets
 * any page call it with a token it holds, and a cookie never authorizes a page. With a list, the
 * allowed origin is echoed (with `Vary: Origin`), never `*`, never an origin off the list.
 */
export function createHeaderTokenCors(grants: CorsGrants, options: HeaderTokenCorsOptions): HeaderTokenCors {
  const { origins } = options
  const any = origins === "*" || origins.includes("*")
  const allowlist = new Set(
    typeof origins === "string" ? [] : origins.map((origin) => origin.replace(/\/+$/, "")),
  )
  const exposed = grants.exposedHeaders.join(", ")
  const anyHeaders = Object.freeze({
    "access-control-allow-origin": "*",
    "access-control-expose-headers": exposed,
  })
  const preflightGrants = {
    "access-control-allow-methods": grants.methods.join(", "),
    "access-control-allow-headers": grants.allowedHeaders.join(", "),
    "access-control-max-age": String(options.maxAgeSeconds ?? 600),
  }
  // Built once per allowed origin: an app may keep one set of response headers per answer.
  const echoed = new Map(
    [...allowlist].map((origin) => [
      origin,
      Object.freeze({
        "access-control-allow-origin": origin,
        "access-control-expose-headers": exposed,
        vary: "Origin",
      }),
    ]),
  )
  const refused = any || allowlist.size === 0 ? NONE : NONE_BY_ORIGIN
  const headersFor = (origin: string | undefined): Readonly<Record<string, string>> => {
    if (origin === undefined) return refused
    return echoed.get(origin) ?? (any ? anyHeaders : refused)
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
            : `Origin ${origin} may not call ${grants.name}: add it to ${grants.howToAllow} (herald serve's --cors-origins).`,
        )
        return
      }
      response.writeHead(204, { ...headersFor(origin), ...preflightGrants })
      response.end()
    },
  }
}
