import { readCookie } from "./cookies.js"
import { AuthError } from "./errors.js"

/** Where a token was found. */
export type TokenSource = "header" | "cookie" | "query"

/** How a request may present its token. */
export interface PresentationOptions {
  /** Cookie names read, in order. Default {@link DEFAULT_COOKIE_NAMES}. */
  readonly cookieNames?: readonly string[]
  /** Accept the legacy `authorization` query parameter (subscribers only). Default `true`. */
  readonly legacyQueryParameter?: boolean
}

/** The draft-08 cookie name, then the pre-standardization one. */
export const DEFAULT_COOKIE_NAMES: readonly string[] = [
  "__Secure-mercure_access_token",
  "mercureAuthorization",
]

/** RFC 9110 `token` (an auth-scheme) followed by optional spaces and the rest. */
const CREDENTIALS = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +(.*))?$/s
/** RFC 6750 `b64token`: what may follow `Bearer `. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/**
 * Finds the access token of a request: the `Authorization: Bearer` header wins (a cookie is
 * then ignored, per draft-08), then the legacy `authorization` query parameter, then the
 * cookie. Returns `undefined` when none is present. Throws `AuthError(400, "invalid_request", …)`
 * for a malformed `Authorization` header (wrong scheme, empty token) or query parameter, or for
 * two tokens presented by header and query at once.
 *
 * The query parameter is explicit and the cookie ambient (the user agent attaches it whatever
 * the client chose), so the query parameter wins over the cookie, for the same reason draft-08
 * lets the header win over it; pre-standardization hubs (Mercure.rocks) order them this way too.
 */
export function findToken(
  headers: { readonly authorization?: string | undefined; readonly cookie?: string | undefined },
  url: URL,
  options: PresentationOptions = {},
): { token: string; source: TokenSource } | undefined {
  const query = options.legacyQueryParameter === false ? [] : url.searchParams.getAll("authorization")
  if (query.length > 1) {
    throw invalidRequest(
      `the "authorization" query parameter is given ${query.length} times; send one token, preferably in the Authorization header`,
    )
  }
  if (headers.authorization !== undefined) {
    // Per RFC 6750 section 2, "clients MUST NOT use more than one method to transmit the token";
    // draft-08 relaxes this for the ambient cookie only.
    if (query.length > 0) {
      throw invalidRequest(
        'a token is presented both in the Authorization header and in the "authorization" query parameter; send only one',
      )
    }
    return { token: bearerToken(headers.authorization), source: "header" }
  }
  const fromQuery = query[0]
  if (fromQuery !== undefined) {
    if (fromQuery === "")
      throw invalidRequest('the "authorization" query parameter is empty; put the token in it')
    return { token: fromQuery, source: "query" }
  }
  for (const name of options.cookieNames ?? DEFAULT_COOKIE_NAMES) {
    const value = readCookie(headers.cookie, name)
    // An empty cookie is how applications clear one ("log out"): it presents no token.
    if (value !== undefined && value !== "") return { token: value, source: "cookie" }
  }
  return undefined
}

/** The token of an `Authorization` header value, which "MUST contain the string `Bearer` followed by a space character and by the access token". */
function bearerToken(value: string): string {
  const match = CREDENTIALS.exec(value.trim())
  if (match === null) {
    throw invalidRequest(
      'the Authorization header is not "Bearer <token>"; send "Authorization: Bearer <token>"',
    )
  }
  const scheme = match[1] ?? ""
  // "As with every HTTP authentication scheme, the scheme name is matched case-insensitively."
  if (scheme.toLowerCase() !== "bearer") {
    throw invalidRequest(
      `the Authorization header uses the "${clip(scheme)}" scheme; the hub takes "Authorization: Bearer <token>"`,
    )
  }
  const token = (match[2] ?? "").trim()
  if (token === "")
    throw invalidRequest('the Authorization header has the Bearer scheme but no token after "Bearer "')
  if (!B64TOKEN.test(token)) {
    const hint = /\s/.test(token)
      ? ' (it has spaces: is "Bearer" repeated, or two tokens given?)'
      : token.startsWith('"')
        ? " (remove the quotes around the token)"
        : ""
    throw invalidRequest(`the Bearer token contains characters an access token cannot contain${hint}`)
  }
  return token
}

function invalidRequest(description: string): AuthError {
  return new AuthError(400, "invalid_request", description)
}

/** Shortens a client-supplied value quoted in an error. */
function clip(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}...` : value
}
