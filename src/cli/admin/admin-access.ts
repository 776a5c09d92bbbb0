import type { IncomingMessage } from "node:http"
import { AuthError, noKeyConfigured } from "../../auth/errors.js"
import { ADMIN_ACTION } from "../../auth/grants.js"
import { isTrustedLocalRequest, type LocalTrust } from "../../auth/local-client.js"
import { findToken } from "../../auth/presentation.js"
import type { TokenVerifier } from "../../auth/verifier.js"

/** Who may read the admin stream. */
export interface AdminAccessOptions {
  /** Verifies presented tokens; `undefined` when no key is configured (every token is refused). */
  readonly verifier: TokenVerifier | undefined
  /** Dev mode's one rule: a trusted local client without a token may. */
  readonly trustLocalClients: boolean
  /** What a local request must match to be trusted (the server's CORS allowlist and host name). */
  readonly localTrust: LocalTrust
  /** Cookies read for a token, in order (the hub's). */
  readonly cookieNames: readonly string[]
}

/** Lets a request in, or throws why not. */
export type AdminAccess = (request: IncomingMessage, url: URL) => Promise<void>

/** How an operator gets in, said in every refusal. */
const HOW =
  'Send a token granting {"app": "admin", "actions": ["admin"]} (docs/operations.md, "Dashboard") ' +
  "as Authorization: Bearer <token> or in a cookie"

/** What a client refused in dev mode is told besides: the page says only what the server says. */
const DEV_MODE =
  "This server runs in dev mode: a client on the machine that runs it needs none (open this page there, at localhost)."

/**
 * The admin app's rule (docs/authorization.md): a token whose grants include the `admin` action
 * of the `admin` app on the requested path (`*` grants every one), by the `Authorization: Bearer`
 * header or a cookie; in dev mode, a trusted local client without one. Never anyone else, on any
 * address: unlike the hub, the admin app has no anonymous access. Throws an `AuthError` (401 no
 * or bad token, 403 a token without the grant, 400 a malformed presentation).
 */
export function createAdminAccess(options: AdminAccessOptions): AdminAccess {
  const { verifier } = options
  return async (request, url) => {
    const found = findToken(request.headers, url, {
      cookieNames: options.cookieNames,
      legacyQueryParameter: false,
    })
    if (found === undefined) {
      if (options.trustLocalClients && isTrustedLocalRequest(request, options.localTrust)) return
      const devMode = options.trustLocalClients ? ` ${DEV_MODE}` : ""
      throw new AuthError(401, undefined, `The admin API needs an access token.${devMode} ${HOW}.`)
    }
    if (verifier === undefined) {
      throw noKeyConfigured("admin")
    }
    // The role only narrows hub actions; `admin` grants read the same either way.
    const grants = await verifier.verify(found.token, "publish")
    if (!grants.can("admin", ADMIN_ACTION, url.pathname)) {
      throw new AuthError(
        403,
        "insufficient_scope",
        `The token does not grant the "admin" action of the "admin" app. ${HOW}.`,
      )
    }
  }
}
