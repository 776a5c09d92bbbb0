import type { IncomingMessage } from "node:http"
import { AuthError, noKeyConfigured } from "../auth/errors.js"
import { type Grants, LOCAL_DEV_CLIENT } from "../auth/grants.js"
import { isTrustedLocalRequest, type LocalTrust, untrustedLocalMessage } from "../auth/local-client.js"
import { findToken } from "../auth/presentation.js"
import type { TokenVerifier } from "../auth/verifier.js"

/**
 * Who may use the AI endpoints: tokens carrying Herald grants of the `ai` app (actions
 * `generate`, `read`, `cancel` on `/v1/generations/{id}`; docs/authorization.md), and in dev mode
 * local clients without a token.
 */
export interface AIAuthOptions {
  /** Verifies presented tokens; `undefined` when no key is configured (every token is refused). */
  readonly verifier: TokenVerifier | undefined
  /** Dev mode: a trusted local client without a token gets every grant. */
  readonly trustLocalClients?: boolean
  /** What a local request must match to be trusted (the server's CORS allowlist and host name). */
  readonly localTrust?: LocalTrust
}

/** Turns a request's token into grants. */
export interface AIAuthenticator {
  /**
   * The request's grants. `apiKeyHeader`: the token may come as `x-api-key` (the Anthropic
   * endpoint: its SDK sends it there). Throws `AuthError` (401 no or bad token, 400 malformed).
   */
  authenticate(request: IncomingMessage, url: URL, apiKeyHeader: boolean): Promise<Grants>
}

/** The authenticator of the AI endpoints; `undefined` options: open to everyone (a library user's own auth in front). */
export function createAIAuthenticator(options: AIAuthOptions | undefined): AIAuthenticator {
  if (options === undefined) return { authenticate: async () => LOCAL_DEV_CLIENT }
  const { verifier } = options
  /** Whom to trust as local without a token: dev mode's pages and clients. */
  const localTrust = options.trustLocalClients === true ? options.localTrust : undefined
  return {
    async authenticate(request, url, apiKeyHeader) {
      // No cookie and no query parameter: API clients send a header, and an ambient cookie
      // would let any page the user visits spend their tokens.
      const found = findToken(request.headers, url, {
        cookieNames: [],
        legacyQueryParameter: false,
        apiKeyHeader,
      })
      if (found === undefined) {
        if (localTrust !== undefined && isTrustedLocalRequest(request, localTrust)) return LOCAL_DEV_CLIENT
        throw new AuthError(
          401,
          undefined,
          (localTrust === undefined ? undefined : untrustedLocalMessage(request, localTrust)) ??
            `This endpoint needs an access token: send it as Authorization: Bearer <token>${apiKeyHeader ? " or x-api-key: <token>" : ""}.`,
        )
      }
      if (verifier === undefined) {
        throw noKeyConfigured("AI")
      }
      // The role only narrows hub actions; a token's `ai` grants are read the same either way.
      return await verifier.verify(found.token, "publish")
    },
  }
}
