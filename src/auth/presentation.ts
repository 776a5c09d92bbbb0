import { readCookie } from "./cookies.js"
import { AuthError } from "./errors.js"

/** Where a token was found: the `Authorization` header, the `x-api-key` header, a cookie, the legacy query parameter. */
export type TokenSource = "header" | "api-key" | "cookie" | "query"

/** How a request may present its token. */
export interface PresentationOptions {
  /** Cookie names read, in order. Default {@link DEFAULT_COOKIE_NAMES}. */
  readonly cookieNames?: readonly string[]
  /** Accept the legacy `authorization` query parameter (subscribers only). Default `true`. */
  readonly legacyQueryParameter?: boolean
  /**
   * Accept the token in the `x-api-key` header, which the Anthropic SDK sends. Default `false`:
   * an app whose clients never send it does not read it.
   */
  readonly apiKeyHeader?: boolean
}

/** The headers {@link findToken} reads. */
export interface PresentationHeaders {
  readonly authorization?: string | undefined
  readonly cookie?: string | undefined
  readonly "x-api-key"?: string | string[] | undefined
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
 * then ignored, per draft-08), then the `x-api-key` header when enabled, then the legacy
 * `authorization` query parameter, then the cookie. Returns `undefined` when none is present.
 * Throws `AuthError(400, "invalid_request", …)` for a malformed `Authorization` or `x-api-key`
 * header (wrong scheme, empty token) or query parameter, for two tokens presented by header and
 * query at once, or for different tokens in the `Authorization` and `x-api-key` headers (the
 * same token in both is one presentation: SDKs configured with a key and a token send both).
 *
 * The query parameter is explicit and the cookie ambient (the user agent attaches it whatever
 * the client chose), so the query parameter wins over the cookie, for the same reason draft-08
 * lets the header win over it; pre-standardization hubs (Mercure.rocks) order them this way too.
 */
export function findToken(
  headers: PresentationHeaders,
  url: URL,
  options: PresentationOptions = {},
): { token: string; source: TokenSource } | undefined {
  const query = options.legacyQueryParameter === false ? [] : url.searchParams.getAll("authorization")
  if (query.length > 1) {
    throw invalidRequest(
      `the "authorization" query parameter is given ${query.length} times; send one token, preferably in the Authorization header`,
    )
  }
  const apiKey = options.apiKeyHeader === true ? apiKeyToken(headers["x-api-key"]) : undefined
  if (headers.authorization !== undefined) {
    // Per RFC 6750 section 2, "clients MUST NOT use more than one method to transmit the token";
    // draft-08 relaxes this for the ambient cookie only.
    if (query.length > 0) {
      throw invalidRequest(
        'a token is presented both in the Authorization header and in the "authorization" query parameter; send only one',
      )
    }
    const token = bearerToken(headers.authorization)
    // Picking one of two different tokens would act with authority the client may not expect.
    if (apiKey !== undefined && apiKey !== token) {
      throw invalidRequest(
        "different tokens are presented in the Authorization header and in the x-api-key header; send only one",
      )
    }
    return { token, source: "header" }
  }
  if (apiKey !== undefined) {
    if (query.length > 0) {
      throw invalidRequest(
        'a token is presented both in the x-api-key header and in the "authorization" query parameter; send only one',
      )
    }
    return { token: apiKey, source: "api-key" }
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
      `the Authorization header uses the "${clip(scheme)}" scheme; send "Authorization: Bearer <token>"`,
    )
  }
  const token = (match[2] ?? "").trim()
  if (token === "")
    throw invalidRequest('the Authorization header has the Bearer scheme but no token after "Bearer "')
  return checkCharacters(token, "the Bearer token", 'is "Bearer" repeated, or two tokens given?')
}

/** The token of an `x-api-key` header, or `undefined` when there is none. */
function apiKeyToken(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  if (Array.isArray(value)) {
    throw invalidRequest(`the x-api-key header is given ${value.length} times; send one token`)
  }
  const token = value.trim()
  if (token === "") throw invalidRequest("the x-api-key header is empty; put the token in it")
  // Node joins a repeated x-api-key header with ", ": the space hint covers it.
  return checkCharacters(token, "the x-api-key header", "are two tokens given?")
}

/** `token` when it is an RFC 6750 `b64token`, as every JWT is; otherwise a 400 saying what is wrong. */
function checkCharacters(token: string, where: string, spacesHint: string): string {
  if (B64TOKEN.test(token)) return token
  const hint = /\s/.test(token)
    ? ` (it has spaces: ${spacesHint})`
    : token.startsWith('"')
      ? " (remove the quotes around the token)"
      : ""
  throw invalidRequest(`${where} contains characters an access token cannot contain${hint}`)
}

function invalidRequest(description: string): AuthError {
  return new AuthError(400, "invalid_request", description)
}

/** Shortens a client-supplied value quoted in an error. */
function clip(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}...` : value
}
