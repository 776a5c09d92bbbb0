import { hasRecognizedDetail, parseAuthorizationDetails } from "./authorization-details.js"
import { clip, type DetailLimits, describe, isObject } from "./detail-members.js"
import { AuthError } from "./errors.js"
import { createGrants, type GrantDetail, type Grants, type Role } from "./grants.js"
import { DEFAULT_MAX_JSON_DEPTH, nestsDeeper } from "./json-depth.js"
import {
  ALGORITHM_FAMILY,
  type Attempt,
  type JwksOptions,
  type PreparedKey,
  prepareKey,
  type TrustedKey,
  unusableKeyProblem,
} from "./keys.js"
import { parseLegacyClaim } from "./legacy-claim.js"
import type { MatcherContext } from "./matchers/matcher.js"

/** How tokens for one role (publishing or subscribing) are validated. */
export interface VerifierOptions {
  /**
   * Trusted keys. A token is verified only with the keys bound to its `iss`; when no key is bound
   * to that issuer, with the unbound keys (an unbound key trusts any issuer: bind keys to issuers
   * to enforce `iss`).
   */
  readonly keys: readonly TrustedKey[]
  /** Accepted `alg` values; `none` is never accepted. Default `["HS256", "RS256", "ES256", "EdDSA"]`. */
  readonly algorithms?: readonly string[]
  /** The hub's resource identifier, required in `aud` for `at+jwt` tokens. */
  readonly resource: string
  /** Accept pre-standardization tokens (the `mercure` claim; any `typ`; `exp` optional). Default `true`. */
  readonly legacy?: boolean
  /** Clock skew tolerated on `exp`/`nbf`, in seconds. Default 5. */
  readonly clockToleranceSec?: number
  /** Limits on authorization details (count, topics per detail); over them the token is invalid. Defaults 32 and 64. */
  readonly maxDetails?: number
  readonly maxTopicsPerDetail?: number
  /** Compiles the token's topic matchers (relative URL patterns resolve against the hub URL). */
  readonly matcherContext: MatcherContext
  /**
   * Tell clients why their token was refused (default `true`). draft-08 notes that a uniform
   * `invalid_token` "avoids disclosing why validation failed"; Herald reveals the reason by
   * default because an unexplained 401 is the most common Mercure support question. Even then, a
   * token whose signature did not verify learns only what it says itself and the allowed
   * algorithms (which every client must know to sign), never the hub's trusted issuers, key ids,
   * key types or JWK Set URLs; the reasons never include key material. With `false`, clients read a generic description. Either way the full
   * reason stays in {@link AuthError.reason} for the hub's logs.
   */
  readonly revealReasons?: boolean
  /** Longest token accepted, in characters. Default 65 536. */
  readonly maxTokenLength?: number
  /** How an operator configures keys for this role, quoted when none is. Default `--publisher-jwt-key (or --jwt-key)`, and the same for subscribers. */
  readonly keysHint?: string
  /** Fetch timeout and cache ages of JWK Set URLs. */
  readonly jwks?: JwksOptions
  /** The current time in ms since the epoch (tests). Default `Date.now`. */
  readonly now?: () => number
}

/** Validates tokens for one role. */
export interface TokenVerifier {
  /**
   * Validates `token` (signature with a trusted key and an allowed algorithm, `typ`, `exp`,
   * `nbf`, `aud`, `iss`, authorization details) and returns what it grants for `role`.
   * Throws `AuthError(401, "invalid_token", reason)` on any failure.
   */
  verify(token: string, role: Role): Promise<Grants>
}

/** The algorithms accepted when none are configured: draft-08's minimum plus HS256, the Mercure.rocks default. */
export const DEFAULT_ALGORITHMS: readonly string[] = ["HS256", "RS256", "ES256", "EdDSA"]

/** Shown instead of the reason when `revealReasons` is `false`. */
const GENERIC_REASON = "the access token is invalid"

/**
 * Creates the verifier of one role's tokens. Throws a plain `Error` for a bad configuration (a
 * key that does not parse or fits none of the allowed algorithms, `none` or an unknown algorithm
 * in the allowlist, no resource).
 */
export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const algorithms = checkAlgorithms(options.algorithms ?? DEFAULT_ALGORITHMS)
  if (typeof options.resource !== "string" || options.resource === "") {
    throw new Error("createTokenVerifier: `resource` is required (the identifier tokens must carry in `aud`)")
  }
  const keys = options.keys.map((key, index) => {
    let prepared: PreparedKey
    try {
      prepared = prepareKey(key, index, options.jwks)
    } catch (error) {
      throw new Error(`createTokenVerifier: ${(error as Error).message}`)
    }
    const problem = unusableKeyProblem(prepared, algorithms)
    if (problem !== undefined) {
      throw new Error(
        `createTokenVerifier: keys[${index}] fits none of the allowed algorithms (${algorithms.join(", ")}): ${problem}; allow one of these, or configure a key for an allowed algorithm`,
      )
    }
    return prepared
  })
  const issuers = new Set(keys.flatMap((key) => (key.issuer === undefined ? [] : [key.issuer])))
  const limits: DetailLimits = {
    maxDetails: positive(options.maxDetails, 32, "maxDetails"),
    maxTopicsPerDetail: positive(options.maxTopicsPerDetail, 64, "maxTopicsPerDetail"),
  }
  const settings: Settings = {
    algorithms,
    keys,
    issuers,
    limits,
    resource: options.resource,
    legacy: options.legacy ?? true,
    toleranceSec: options.clockToleranceSec ?? 5,
    maxTokenLength: positive(options.maxTokenLength, 65_536, "maxTokenLength"),
    context: options.matcherContext,
    keysHint: options.keysHint,
    now: options.now ?? Date.now,
  }
  const reveal = options.revealReasons ?? true
  return {
    async verify(token, role) {
      try {
        return await verifyToken(token, role, settings)
      } catch (error) {
        // Anything unforeseen (a matcher bug, a crypto edge case) is still a refused token, never a crash.
        if (!(error instanceof AuthError)) {
          const reason = `the token could not be validated: ${(error as Error).message}`
          throw new AuthError(401, "invalid_token", reveal ? reason : GENERIC_REASON, reason)
        }
        throw new AuthError(401, "invalid_token", reveal ? error.description : GENERIC_REASON, error.reason)
      }
    },
  }
}

interface Settings {
  readonly algorithms: readonly string[]
  readonly keys: readonly PreparedKey[]
  readonly issuers: ReadonlySet<string>
  readonly limits: DetailLimits
  readonly resource: string
  readonly legacy: boolean
  readonly toleranceSec: number
  readonly maxTokenLength: number
  readonly context: MatcherContext
  readonly keysHint: string | undefined
  readonly now: () => number
}

async function verifyToken(token: string, role: Role, settings: Settings): Promise<Grants> {
  const { header, claims } = decode(token, settings.maxTokenLength)

  // "Hubs MUST NOT accept `alg=none`, MUST NOT derive the set of acceptable algorithms from the
  // token" — the allowlist is the configuration's, checked before any key is touched.
  const alg = header.alg
  if (typeof alg !== "string" || alg === "") throw invalid('the token header has no "alg"')
  if (alg.toLowerCase() === "none")
    throw invalid('algorithm "none" (an unsigned token) is never accepted; sign the token')
  if (!settings.algorithms.includes(alg)) {
    throw unverified(
      `algorithm "${clip(alg)}" is not accepted by this hub; sign with one it accepts: ${settings.algorithms.join(", ")}`,
      `algorithm "${clip(alg)}" is not allowed (allowed: ${settings.algorithms.join(", ")}); sign with one of them or allow it in the hub's configuration (--algorithms)`,
    )
  }
  // RFC 7515 §4.1.11: "If any of the listed extension Header Parameters are not understood and
  // supported by the recipient, then the JWS is invalid." This hub understands none.
  if (header.crit !== undefined) {
    throw invalid(
      `the token header lists critical extensions this hub does not support (crit: ${clip(JSON.stringify(header.crit))}); sign it without "crit"`,
    )
  }

  // A pre-standardization token: "the `mercure` JWT claim", "any signed JWT". One that also
  // carries a Mercure authorization detail or a Herald grant is a draft-08 token and is held to
  // draft-08's rules.
  const legacy =
    settings.legacy && claims.mercure !== undefined && !hasRecognizedDetail(claims.authorization_details)
  if (!legacy) checkType(header.typ, settings.legacy)

  const issuer = claims.iss
  if (issuer !== undefined && typeof issuer !== "string")
    throw invalid(`"iss" is ${describe(issuer)}, expected a string`)
  // "Hubs MUST verify that the `iss` claim is present" (pre-standardization tokens had none).
  if (issuer === undefined && !legacy) {
    throw invalid(
      'the token has no "iss" claim; RFC 9068 access tokens name their issuer (the "iss" the hub trusts)',
    )
  }

  const payload = await verifySignature(token, alg, header, issuer, role, settings)
  // The signed payload is the one decoded above (same bytes); parse it again to act only on verified data.
  const verified = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>

  const expiresAt = checkTimes(verified, legacy, settings)
  checkAudience(verified.aud, legacy, settings.resource)
  const subject = verified.sub
  if (subject !== undefined && typeof subject !== "string")
    throw invalid(`"sub" is ${describe(subject)}, expected a string`)

  let details: GrantDetail[] = []
  let defaultPayload: unknown
  if (legacy) {
    const grants = parseLegacyClaim(verified.mercure, settings.limits, settings.context)
    details = grants.details
    defaultPayload = grants.payload
  } else if (verified.authorization_details !== undefined) {
    // "Tokens with no Mercure authorization detail grant no publish or subscribe rights" — unless
    // a Herald grant of the hub gives them.
    details = parseAuthorizationDetails(verified.authorization_details, settings.limits, settings.context)
  }
  return createGrants(details, { issuer, subject, expiresAt, role, defaultPayload })
}

/** The header and claims of a compact JWS, decoded but not yet trusted. */
function decode(
  token: string,
  maxLength: number,
): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  if (token.length > maxLength)
    throw invalid(`the token is ${token.length} characters long, over the hub's limit of ${maxLength}`)
  const parts = token.split(".")
  if (parts.length === 5)
    throw invalid("the token is encrypted (JWE); this server takes signed JWTs (JWS compact serialization)")
  if (parts.length !== 3) {
    throw invalid(
      "the token is not a JWT: expected three base64url parts separated by dots (header.payload.signature)",
    )
  }
  const header = parsePart(parts[0] ?? "", "header")
  const claims = parsePart(parts[1] ?? "", "payload")
  return { header, claims }
}

function parsePart(part: string, name: string): Record<string, unknown> {
  let value: unknown
  try {
    if (!/^[A-Za-z0-9_-]*$/.test(part)) throw new Error("not base64url")
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(part, "base64url")))
  } catch {
    throw invalid(`the token's ${name} is not base64url-encoded JSON`)
  }
  if (!isObject(value)) throw invalid(`the token's ${name} is ${describe(value)}, expected a JSON object`)
  // Its claims (a payload) are written into subscription documents: no depth that JSON.stringify cannot take.
  if (nestsDeeper(value, DEFAULT_MAX_JSON_DEPTH))
    throw invalid(`the token's ${name} nests more than ${DEFAULT_MAX_JSON_DEPTH} levels deep`)
  return value
}

/**
 * "Hubs MUST verify that the token header `typ` is `at+jwt`, or the equivalent
 * `application/at+jwt`, compared with the `application/` prefix omitted and case-insensitively".
 */
function checkType(typ: unknown, legacy: boolean): void {
  // Whether legacy tokens are accepted is configuration: the hint is for the hub's logs only.
  const hint = legacy ? ' (a pre-standardization token would carry a "mercure" claim instead)' : ""
  if (typ === undefined) {
    const description = 'the token header has no "typ", expected "at+jwt"'
    throw unverified(description, `${description}${hint}`)
  }
  if (typeof typ !== "string") throw invalid(`"typ" is ${describe(typ)}, expected "at+jwt"`)
  const lower = typ.toLowerCase()
  const bare = lower.startsWith("application/") ? lower.slice("application/".length) : lower
  if (bare !== "at+jwt") {
    const description = `"typ" is "${clip(typ)}", expected "at+jwt": the hub accepts OAuth access tokens (RFC 9068), not ID tokens or other JWTs`
    throw unverified(description, `${description}${hint}`)
  }
}

/**
 * Picks the trusted keys for the token and verifies its signature. "When the hub trusts key
 * material from more than one issuer, it MUST verify the signature using only the key(s)
 * associated with the token's `iss`, never a pooled set spanning issuers"; the `kid` "MAY be
 * used as a hint to choose among the trusted keys" — the token never brings its own key
 * (`jwk`, `jku`, `x5u` are never read).
 */
async function verifySignature(
  token: string,
  alg: string,
  header: Record<string, unknown>,
  issuer: string | undefined,
  role: Role,
  settings: Settings,
): Promise<Uint8Array> {
  const who = role === "publish" ? "publishers" : "subscribers"
  const hint =
    settings.keysHint ??
    (role === "publish" ? "--publisher-jwt-key (or --jwt-key)" : "--subscriber-jwt-key (or --jwt-key)")
  const kid = typeof header.kid === "string" ? header.kid : undefined
  const claimed = [
    `alg "${clip(alg)}"`,
    issuer === undefined ? 'no "iss"' : `iss "${clip(issuer)}"`,
    ...(kid === undefined ? [] : [`kid "${clip(kid)}"`]),
  ].join(", ")
  /** The refusal whatever the hub's keys lack: an unknown issuer, kid or key type looks like a bad signature. */
  const noKey = (reason: string) =>
    unverified(
      `no key this hub trusts verifies the token (${claimed}); sign it with the key configured for its issuer, and check its "iss", "kid" and "alg"`,
      reason,
    )
  if (settings.keys.length === 0) {
    throw noKey(`no key is configured for ${who}, so no token can be validated; start the hub with ${hint}`)
  }
  const bound = issuer !== undefined && settings.issuers.has(issuer)
  const trusted = keysFor(issuer, settings)
  const owner = bound ? `issuer "${clip(issuer)}"` : who
  if (trusted.length === 0) {
    const list = [...settings.issuers].map((name) => `"${clip(name)}"`).join(", ")
    throw noKey(
      issuer === undefined
        ? `the token has no "iss", and the keys are bound to several issuers (${list}); set "iss" to the one that signs it`
        : `no key is configured for issuer "${clip(issuer)}" (trusted issuers: ${list}); check the token's "iss"`,
    )
  }
  const byKid =
    kid === undefined ? trusted : trusted.filter((key) => key.kid === undefined || key.kid === kid)
  if (byKid.length === 0) {
    const kids = trusted.map((key) => `"${clip(key.kid ?? "")}"`).join(", ")
    throw noKey(`no key configured for ${owner} has kid "${clip(kid ?? "")}" (configured: ${kids})`)
  }
  // "MUST verify that `alg` is compatible with the key used for verification (preventing
  // algorithm-confusion attacks)": an HS256 token is never checked against a public key.
  const fitting = byKid.filter((key) => key.fits(alg))
  if (fitting.length === 0) {
    const kinds = [...new Set(byKid.map((key) => key.description))]
    const family = ALGORITHM_FAMILY[alg]
    const needs = family === "hmac" ? `; ${alg} needs a shared secret: ${hint}` : ""
    throw noKey(
      `algorithm "${alg}" does not fit the key configured for ${owner}: it is ${kinds.join("; ")}${needs}`,
    )
  }
  const failures: Attempt[] = []
  for (const key of fitting) {
    const attempt = await key.attempt(token, alg)
    if (attempt.ok) return attempt.payload
    failures.push(attempt)
  }
  const problems = failures.filter((failure) => !failure.ok && failure.why !== "mismatch")
  if (problems.length === failures.length) {
    throw unverified(
      "the hub could not check the signature: its keys are unavailable; retry later, and tell the hub's operator if it lasts",
      `the signature could not be checked for ${owner}: ${details(problems)}`,
    )
  }
  const tried =
    fitting.length === 1
      ? `the key configured for ${owner}`
      : `any of the ${fitting.length} keys configured for ${owner}`
  // A JWK Set says more than "does not verify": which kid/alg it lacks.
  const notes = failures.filter(
    (failure) => !failure.ok && (failure.why !== "mismatch" || failure.detail.includes("JWK Set")),
  )
  const extra = notes.length > 0 ? ` (${details(notes)})` : ""
  throw noKey(`the signature does not verify with ${tried}${extra}; sign with the matching key`)
}

/**
 * The keys that may verify a token from `issuer`: those bound to it, else the unbound keys (an
 * unbound key trusts any issuer). A token without `iss` is a legacy one (draft-08 tokens must
 * carry it, checked before): pre-standardization issuers never set `iss`, so it gets the unbound
 * keys, else — when every key is bound to one and the same issuer, as `--jwt-issuer` binds them —
 * that issuer's keys: an operator who names the issuer still trusts the keys that sign its legacy
 * tokens. With keys of several issuers and none unbound, the token could be any of theirs: none.
 */
function keysFor(issuer: string | undefined, settings: Settings): readonly PreparedKey[] {
  if (issuer !== undefined && settings.issuers.has(issuer)) {
    return settings.keys.filter((key) => key.issuer === issuer)
  }
  const unbound = settings.keys.filter((key) => key.issuer === undefined)
  if (issuer === undefined && unbound.length === 0 && settings.issuers.size === 1) return settings.keys
  return unbound
}

function details(failures: readonly Attempt[]): string {
  return failures.map((failure) => (failure.ok ? "" : failure.detail)).join("; ")
}

/**
 * "Hubs MUST enforce the `exp` claim (…) and MUST reject a token that has no `exp` claim. Hubs
 * MUST enforce the `nbf` claim if present." Pre-standardization tokens may omit `exp`, but one
 * they carry is enforced. Returns `exp` in ms.
 */
function checkTimes(
  claims: Record<string, unknown>,
  legacy: boolean,
  settings: Settings,
): number | undefined {
  const { exp, nbf } = claims
  const nowMs = settings.now()
  const now = nowMs / 1000
  const clock = new Date(nowMs).toISOString()
  if (exp === undefined && !legacy) {
    throw invalid('the token has no "exp" claim; access tokens must expire (RFC 9068): set "exp"')
  }
  if (exp !== undefined && !isNumericDate(exp))
    throw invalid(`"exp" is ${describe(exp)}, expected seconds since the epoch`)
  if (nbf !== undefined && !isNumericDate(nbf))
    throw invalid(`"nbf" is ${describe(nbf)}, expected seconds since the epoch`)
  if (typeof exp === "number" && now - settings.toleranceSec >= exp) {
    throw invalid(
      `the token expired at ${isoTime(exp)} (hub clock: ${clock}); issue a fresh token, or check the issuer's clock`,
    )
  }
  if (typeof nbf === "number" && now + settings.toleranceSec < nbf) {
    throw invalid(
      `the token is not valid before ${isoTime(nbf)} (hub clock: ${clock}); check the issuer's clock, or wait`,
    )
  }
  return typeof exp === "number" ? exp * 1000 : undefined
}

function isNumericDate(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value)
}

function isoTime(seconds: number): string {
  const date = new Date(seconds * 1000)
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString()
}

/**
 * "Hubs MUST be configured with their resource identifier and MUST verify that it appears in
 * the token `aud` claim", a string or an array of strings. Pre-standardization tokens rarely
 * carried `aud` (Mercure.rocks ignores it): when absent it is not required, but an `aud` that
 * is present names the token's audience, so it must include this hub.
 */
function checkAudience(aud: unknown, legacy: boolean, resource: string): void {
  if (aud === undefined) {
    if (legacy) return
    throw invalid(
      `the token has no "aud" claim; it must contain this hub's resource identifier "${resource}"`,
    )
  }
  const list = Array.isArray(aud) ? aud : [aud]
  if (list.some((entry) => typeof entry !== "string")) {
    throw invalid(
      `"aud" is ${describe(aud)} with non-string entries, expected a string or an array of strings`,
    )
  }
  if (!list.includes(resource)) {
    const got =
      list.length === 0
        ? "[]"
        : list
            .slice(0, 5)
            .map((entry) => `"${clip(String(entry))}"`)
            .join(", ")
    throw invalid(
      `"aud" does not contain "${resource}" (it has ${got}); issue the token for this hub's resource identifier`,
    )
  }
}

function checkAlgorithms(algorithms: readonly string[]): readonly string[] {
  if (algorithms.length === 0)
    throw new Error("createTokenVerifier: `algorithms` is empty; allow at least one")
  for (const alg of algorithms) {
    if (alg.toLowerCase() === "none")
      throw new Error('createTokenVerifier: algorithm "none" is never accepted')
    if (ALGORITHM_FAMILY[alg] === undefined) {
      throw new Error(
        `createTokenVerifier: unsupported algorithm "${alg}" (supported: ${Object.keys(ALGORITHM_FAMILY).join(", ")})`,
      )
    }
  }
  return [...algorithms]
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`createTokenVerifier: \`${name}\` must be a positive integer`)
  return value
}

function invalid(reason: string): AuthError {
  return new AuthError(401, "invalid_token", reason)
}

/**
 * A refusal that would tell something about the hub's configuration, before the signature
 * verified: the caller may be anyone, so `description` says only what the token itself says (its
 * `alg`, `typ`, `iss`, `kid`), never what the hub trusts (issuers, key ids, key types, JWK Set
 * URLs). The allowed algorithms are no secret: a client must know them to sign. `reason`, for the
 * hub's logs, has it all.
 */
function unverified(description: string, reason: string): AuthError {
  return new AuthError(401, "invalid_token", description, reason)
}
