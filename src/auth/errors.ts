/** The RFC 6750 error codes a Bearer challenge carries. */
export type BearerErrorCode = "invalid_request" | "invalid_token" | "insufficient_scope"

/**
 * An authorization failure, rendered by the hub as a status code, a `WWW-Authenticate: Bearer`
 * challenge and a body telling the developer what to change.
 * - 401 without `code`: no token was presented and one is required.
 * - 401 `invalid_token`: the token failed validation (the `description` says which check).
 * - 403 `insufficient_scope`: a valid token does not grant the operation.
 * - 400 `invalid_request`: the token's presentation is malformed.
 */
export class AuthError extends Error {
  readonly status: 400 | 401 | 403
  readonly code: BearerErrorCode | undefined
  /** A developer-facing reason: what failed and what to do (never the token itself). */
  readonly description: string
  /**
   * The full reason, for the hub's logs. `description` says less when the token's signature did
   * not verify (nothing about the hub's keys) or when the verifier was told not to reveal reasons
   * to clients (`revealReasons: false`, a generic description).
   */
  readonly reason: string

  constructor(
    status: 400 | 401 | 403,
    code: BearerErrorCode | undefined,
    description: string,
    reason?: string,
  ) {
    super(reason ?? description)
    this.name = "AuthError"
    this.status = status
    this.code = code
    this.description = description
    this.reason = reason ?? description
  }
}

/** Longest `error_description` put in a header: a reason quotes token values, which are not bounded. */
const MAX_DESCRIPTION = 512

/**
 * Renders `value` as an RFC 9110 quoted-string that Node will accept as a header value: `"` and
 * `\` are backslash-escaped, CR and LF are removed (header injection), other controls become
 * spaces, and characters outside ASCII are percent-encoded (RFC 6750 limits `error_description`
 * to printable ASCII; percent-encoding keeps a non-ASCII topic or issuer readable).
 */
export function quoteAuthParam(value: string): string {
  let out = ""
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0
    if (code === 0x0d || code === 0x0a) continue
    if (code < 0x20 || code === 0x7f) out += " "
    else if (char === '"' || char === "\\") out += `\\${char}`
    // A lone surrogate would make encodeURIComponent throw: it stands for U+FFFD.
    else if (code >= 0xd800 && code <= 0xdfff) out += "%EF%BF%BD"
    else if (code > 0x7e) out += encodeURIComponent(char)
    else out += char
  }
  return `"${out}"`
}

/**
 * The `WWW-Authenticate` value for `error`: `Bearer` with `error`, `error_description`, `resource_metadata`.
 *
 * Per draft-08 "Error Responses": when no token was presented (`error` undefined, or an error
 * without `code`) the challenge "MUST NOT include an error code"; `resource_metadata` is included
 * whenever known, "not only when no token is presented".
 */
export function bearerChallenge(
  error: AuthError | undefined,
  resourceMetadataUrl: string | undefined,
): string {
  const params: string[] = []
  if (error?.code !== undefined) {
    params.push(`error=${quoteAuthParam(error.code)}`)
    let description = error.description
    if (description.length > MAX_DESCRIPTION) description = `${description.slice(0, MAX_DESCRIPTION - 3)}...`
    if (description !== "") params.push(`error_description=${quoteAuthParam(description)}`)
  }
  if (resourceMetadataUrl !== undefined)
    params.push(`resource_metadata=${quoteAuthParam(resourceMetadataUrl)}`)
  return params.length === 0 ? "Bearer" : `Bearer ${params.join(", ")}`
}

/**
 * The 401 for a token that cannot be checked because no key is configured (`what`: whose
 * tokens, as the log line names them): the client is told to ask the operator, the log says
 * which flag to set.
 */
export function noKeyConfigured(what: string): AuthError {
  return new AuthError(
    401,
    "invalid_token",
    "No key this server trusts verifies tokens; ask its operator.",
    `no key is configured to verify ${what} tokens; start the server with --jwt-key (or --jwks-url)`,
  )
}
