/**
 * `herald/auth`: the access-token verifier every Herald app takes (`auth.verifier` of
 * `createStreamsHandler` and `createAIHandler`; the hub builds its own from its keys), with the
 * types its options and answers use. See docs/authorization.md.
 *
 * @packageDocumentation
 */

export { createDevTokens, type DevTokenOptions, type DevTokens, signAccessToken } from "./dev-tokens.js"
export { AuthError, type BearerErrorCode } from "./errors.js"
export type { Action, App, Grants, Role } from "./grants.js"
export type { JwksOptions, TrustedKey } from "./keys.js"
export type { LocalTrust } from "./local-client.js"
export type { MatcherContext } from "./matchers/matcher.js"
export { createTokenVerifier, type TokenVerifier, type VerifierOptions } from "./verifier.js"
