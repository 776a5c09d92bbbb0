import type { IncomingMessage } from "node:http"
import type { Cors } from "../auth/cors.js"
import { AuthError } from "../auth/errors.js"
import { type Action, ANONYMOUS, type App, type Grants, LOCAL_DEV_CLIENT, type Role } from "../auth/grants.js"
import { isTrustedLocalRequest, untrustedLocalMessage } from "../auth/local-client.js"
import { findToken, type TokenSource } from "../auth/presentation.js"
import { cacheVerifications } from "../auth/token-cache.js"
import { createTokenVerifier, type TokenVerifier } from "../auth/verifier.js"
import type { RoleAuthOptions } from "./options.js"
import type { HubSettings } from "./settings.js"

/** Who the request is and what it may do. */
export interface Authenticated {
  readonly grants: Grants
  /** Where the token came from; `undefined` when none was presented. */
  readonly source: TokenSource | undefined
}

/** Turns a request's token into {@link Grants} for one role. */
export interface Authenticator {
  /** Throws an `AuthError` (401 missing or invalid token, 400 malformed presentation). */
  authenticate(request: IncomingMessage, url: URL, role: Role): Promise<Authenticated>
}

/** An anonymous client on a hub that lets anyone publish: anonymous, yet granted `publish` everywhere. */
const ANONYMOUS_PUBLISHER: Grants = Object.freeze({
  ...ANONYMOUS,
  can: (app: App, action: Action) => app === "hub" && action === "publish",
})

/** Builds the authenticator of a hub from its settings, the keys of each role, and its CORS policy. */
export function createAuthenticator(
  settings: HubSettings,
  roles: { readonly publish?: RoleAuthOptions | undefined; readonly subscribe?: RoleAuthOptions | undefined },
  cors: Pick<Cors, "trusts">,
): Authenticator {
  const verifierFor = (role: RoleAuthOptions | undefined): TokenVerifier | undefined =>
    role === undefined || role.keys.length === 0
      ? undefined
      : cacheVerifications(
          createTokenVerifier({
            keys: role.keys,
            ...(role.algorithms === undefined ? {} : { algorithms: role.algorithms }),
            resource: settings.resource,
            legacy: settings.legacy,
            matcherContext: { hubUrl: settings.hubUrl, maxPatternLength: settings.limits.maxPatternLength },
          }),
        )
  const verifiers: Record<Role, TokenVerifier | undefined> = {
    publish: verifierFor(roles.publish),
    subscribe: verifierFor(roles.subscribe),
  }
  const flag: Record<Role, string> = { publish: "--publisher-jwt-key", subscribe: "--subscriber-jwt-key" }
  const cookies = settings.cookieNames.join(" or ")

  const localTrust = { trusts: (origin: string) => cors.trusts(origin), hostname: settings.hubUrl.hostname }

  return {
    async authenticate(request, url, role) {
      const found = findToken(request.headers, url, {
        cookieNames: settings.cookieNames,
        legacyQueryParameter: settings.legacy && role === "subscribe",
      })
      if (found === undefined) {
        if (settings.trustLocalClients && isTrustedLocalRequest(request, localTrust)) {
          return { grants: LOCAL_DEV_CLIENT, source: undefined }
        }
        if (role === "subscribe" && settings.allowAnonymousSubscribe) {
          return { grants: ANONYMOUS, source: undefined }
        }
        if (role === "publish" && settings.allowAnonymousPublish) {
          return { grants: ANONYMOUS_PUBLISHER, source: undefined }
        }
        throw new AuthError(
          401,
          undefined,
          (settings.trustLocalClients ? untrustedLocalMessage(request, localTrust) : undefined) ??
            (role === "publish"
              ? "Publishing needs an access token: send it as Authorization: Bearer <token>."
              : `This hub needs an access token to subscribe: send it as Authorization: Bearer <token> or in the ${cookies} cookie.`),
        )
      }
      const verifier = verifiers[role]
      if (verifier === undefined) {
        // The caller showed no valid signature: the hub's configuration is the operator's to read, in the logs.
        throw new AuthError(
          401,
          "invalid_token",
          `No key this hub trusts verifies ${role === "publish" ? "publisher" : "subscriber"} tokens; ask the hub's operator.`,
          `the hub has no key to verify ${role === "publish" ? "publisher" : "subscriber"} tokens; start it with ${flag[role]} (or --jwt-key)`,
        )
      }
      return { grants: await verifier.verify(found.token, role), source: found.source }
    },
  }
}
