import { randomUUID } from "node:crypto"
import { SignJWT } from "jose"
import { MERCURE_DETAIL_TYPE } from "./authorization-details.js"
import type { Role } from "./grants.js"
import { HERALD_GRANT_TYPE } from "./herald-grant.js"

/** A Mercure authorization detail as written in a token (draft-08 "Authorization Details"). */
export interface AuthorizationDetail {
  readonly type: typeof MERCURE_DETAIL_TYPE
  readonly actions: readonly string[]
  readonly topics: readonly { readonly match: string; readonly match_type?: string }[]
  readonly payload?: Record<string, unknown>
}

/** A Herald grant as written in a token (docs/authorization.md, "Herald grants"). */
export interface HeraldGrantDetail {
  readonly type: typeof HERALD_GRANT_TYPE
  readonly app: string
  readonly actions: readonly string[]
  readonly resources: readonly { readonly match: string; readonly match_type?: string }[]
}

/** What {@link signAccessToken} needs. */
export interface AccessTokenOptions {
  /** The HS256 secret, at least 32 bytes (RFC 7518 section 3.2: a key as long as the hash). */
  readonly secret: string
  /** The hub's resource identifier, put in `aud`. */
  readonly resource: string
  /** `iss`, and `client_id` (a self-issuing publisher is its own client). */
  readonly issuer: string
  readonly subject: string
  readonly details: readonly (AuthorizationDetail | HeraldGrantDetail)[]
  /** Lifetime in seconds. Default 86 400 (a day of development). */
  readonly ttlSec?: number
  /** `iat`, seconds since the epoch. Default now. */
  readonly issuedAt?: number
}

/** The tokens of the hub's development mode. */
export interface DevTokens {
  /** Grants `publish` on every topic (`*`), and every action on every AI generation. */
  readonly publisher: string
  /** Grants `subscribe` on every topic (`*`). */
  readonly subscriber: string
  /** When both expire, ms since the epoch. */
  readonly expiresAt: number
}

/** What {@link createDevTokens} needs. */
export interface DevTokenOptions {
  readonly secret: string
  readonly resource: string
  readonly issuer: string
  /** Lifetime in seconds. Default 86 400. */
  readonly ttlSec?: number
}

/**
 * Signs an HS256 JWT access token as draft-08 requires one: `typ` `at+jwt`, and "the claims
 * [RFC 9068] requires issuers to populate (`iss`, `exp`, `aud`, `sub`, `client_id`, `iat`, and
 * `jti`)", with `details` as its `authorization_details`.
 */
export async function signAccessToken(options: AccessTokenOptions): Promise<string> {
  const key = new TextEncoder().encode(options.secret)
  if (key.length < 32) {
    throw new Error(
      `the HS256 secret is ${key.length} bytes; use at least 32 (e.g. \`openssl rand -base64 32\`)`,
    )
  }
  const ttl = options.ttlSec ?? 86_400
  if (!Number.isInteger(ttl) || ttl < 1) throw new Error("ttlSec must be a positive integer")
  const now = options.issuedAt ?? Math.floor(Date.now() / 1000)
  return new SignJWT({ client_id: options.issuer, authorization_details: options.details })
    .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
    .setIssuer(options.issuer)
    .setAudience(options.resource)
    .setSubject(options.subject)
    .setIssuedAt(now)
    .setExpirationTime(now + ttl)
    .setJti(`urn:uuid:${randomUUID()}`)
    .sign(key)
}

/** One detail granting `action` on every topic. */
function everything(action: Role): AuthorizationDetail {
  return { type: MERCURE_DETAIL_TYPE, actions: [action], topics: [{ match: "*" }] }
}

/** Every action of the AI app on every generation. */
const AI_EVERYTHING: HeraldGrantDetail = {
  type: HERALD_GRANT_TYPE,
  app: "ai",
  actions: ["generate", "read", "cancel"],
  resources: [{ match: "*" }],
}

/**
 * Issues the development-mode tokens: a publisher token (publish on `*`, and the AI app's
 * generate, read and cancel on `*`: the official AI SDKs always send a key, so a developer
 * needs one) and a subscriber token (subscribe on `*`), signed with `secret`. Never use them outside development: they
 * grant everything to whoever holds them.
 */
export async function createDevTokens(options: DevTokenOptions): Promise<DevTokens> {
  const ttlSec = options.ttlSec ?? 86_400
  const issuedAt = Math.floor(Date.now() / 1000)
  const common = {
    secret: options.secret,
    resource: options.resource,
    issuer: options.issuer,
    ttlSec,
    issuedAt,
  }
  const [publisher, subscriber] = await Promise.all([
    signAccessToken({
      ...common,
      subject: "herald-dev-publisher",
      details: [everything("publish"), AI_EVERYTHING],
    }),
    signAccessToken({ ...common, subject: "herald-dev-subscriber", details: [everything("subscribe")] }),
  ])
  return { publisher, subscriber, expiresAt: (issuedAt + ttlSec) * 1000 }
}
