import type { IncomingMessage } from "node:http"
import { AuthError, bearerChallenge, noKeyConfigured } from "../auth/errors.js"
import { type Grants, LOCAL_DEV_CLIENT } from "../auth/grants.js"
import { isTrustedLocalRequest, type LocalTrust, untrustedLocalMessage } from "../auth/local-client.js"
import { isLoopbackHost } from "../auth/loopback.js"
import { findToken, type PresentationOptions } from "../auth/presentation.js"
import type { TokenVerifier } from "../auth/verifier.js"
import { StreamsError } from "./errors.js"

/** Tokens for the streams: Herald grants of app `streams` (actions create, append, read, delete on stream paths). */
export interface StreamsAuthOptions {
  /** Validates tokens (`createTokenVerifier` of herald's auth); `undefined`: none is configured, every token is refused. */
  readonly verifier: TokenVerifier | undefined
  /** Where a request may present its token. Default: the `Authorization: Bearer` header or the cookies. */
  readonly presentation?: PresentationOptions
  /**
   * Dev mode's one rule: a client on this machine without a token may do everything. Not a page
   * of another site it visits (an `Origin` that `localTrust` does not trust), nor one reached by
   * a name pointed at 127.0.0.1 (a `Host` that is neither loopback nor `localTrust.hostname`).
   * Default `false`.
   */
  readonly trustLocalClients?: boolean
  /**
   * What a local request must match to be trusted (`herald serve`: the server's own origin and
   * `--cors-origins`, as for every app). Default: pages of loopback origins, loopback host names.
   */
  readonly localTrust?: LocalTrust
}

/** The default {@link StreamsAuthOptions.localTrust}: pages served from this machine. */
const LOOPBACK_PAGES: LocalTrust = {
  trusts: (origin) => isLoopbackName(hostOf(origin)),
  hostname: "localhost",
}

/** An action of the streams app. */
export type StreamsAction = "create" | "append" | "read" | "delete"

/** Who a request is: its grants checked per action, and the subject that owns what it creates. */
export interface StreamsCaller {
  /** Throws a 403 unless the caller may do `action` on the stream at `path` (owned by `owner`). */
  require(action: StreamsAction, path: string, owner: string | undefined): void
  /** The token's `sub`, recorded as the owner of the streams it creates. */
  readonly subject: string | undefined
}

/** Everyone may do everything: a handler without `auth` (a library user's, or dev mode on loopback). */
export const OPEN_CALLER: StreamsCaller = Object.freeze({ require: () => {}, subject: undefined })

/**
 * The caller of `request`: throws a 401 {@link StreamsError} (with a Bearer challenge) when no
 * token or an invalid one is presented, a 400 for a malformed presentation.
 */
export async function authenticate(
  options: StreamsAuthOptions,
  request: IncomingMessage,
  url: URL,
): Promise<StreamsCaller> {
  let grants: Grants
  try {
    const found = findToken(request.headers, url, { legacyQueryParameter: false, ...options.presentation })
    if (found === undefined) {
      if (
        options.trustLocalClients === true &&
        isTrustedLocalRequest(request, options.localTrust ?? LOOPBACK_PAGES)
      )
        return callerOf(LOCAL_DEV_CLIENT)
      throw new AuthError(
        401,
        undefined,
        (options.trustLocalClients === true
          ? untrustedLocalMessage(request, options.localTrust ?? LOOPBACK_PAGES)
          : undefined) ?? "These streams need an access token: send Authorization: Bearer <token>.",
      )
    }
    if (options.verifier === undefined) {
      throw noKeyConfigured("stream")
    }
    grants = await options.verifier.verify(found.token, "publish")
  } catch (error) {
    if (!(error instanceof AuthError)) throw error
    throw new StreamsError(error.status, error.description, {
      "www-authenticate": bearerChallenge(error, undefined),
    })
  }
  return callerOf(grants)
}

function callerOf(grants: Grants): StreamsCaller {
  return {
    subject: grants.subject,
    require(action, path, owner) {
      if (grants.can("streams", action, path, { owner })) return
      const refusal = new AuthError(
        403,
        "insufficient_scope",
        `The token does not grant "${action}" on ${path}.`,
      )
      throw new StreamsError(403, refusal.description, {
        "www-authenticate": bearerChallenge(refusal, undefined),
      })
    },
  }
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host
  } catch {
    return undefined
  }
}

function isLoopbackName(host: string | undefined): boolean {
  if (host === undefined) return false
  try {
    return isLoopbackHost(new URL(`http://${host}`).hostname)
  } catch {
    return false
  }
}
