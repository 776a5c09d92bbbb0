import { createPublicKey } from "node:crypto"
import {
  type CryptoKey,
  compactVerify,
  createRemoteJWKSet,
  errors,
  importSPKI,
  type JWSHeaderParameters,
} from "jose"
import { jwksUrlProblem } from "./jwks-url.js"

/** One trusted verification key, bound to the issuer whose tokens it verifies. */
export type TrustedKey =
  /** A shared secret for HS256/HS384/HS512. */
  | { readonly kind: "secret"; readonly secret: string; readonly issuer?: string; readonly kid?: string }
  /** A PEM public key (SPKI) or X.509 certificate for RS*, PS*, ES*, EdDSA. */
  | { readonly kind: "pem"; readonly pem: string; readonly issuer?: string; readonly kid?: string }
  /** A JWK Set URL (fetched and cached by jose; keys chosen by `kid`). */
  | { readonly kind: "jwks"; readonly url: string; readonly issuer?: string }

/** The kind of key an algorithm needs: RFC 7518 binds every `alg` to one key type. */
export type KeyFamily = "hmac" | "rsa" | "ec" | "okp"

/** The signature algorithms Herald can verify, by the key family each requires. */
export const ALGORITHM_FAMILY: Readonly<Record<string, KeyFamily>> = Object.freeze({
  HS256: "hmac",
  HS384: "hmac",
  HS512: "hmac",
  RS256: "rsa",
  RS384: "rsa",
  RS512: "rsa",
  PS256: "rsa",
  PS384: "rsa",
  PS512: "rsa",
  ES256: "ec",
  ES384: "ec",
  ES512: "ec",
  EdDSA: "okp",
  Ed25519: "okp",
})

const FAMILY_NAME: Record<KeyFamily, string> = {
  hmac: "a shared secret",
  rsa: "an RSA public key",
  ec: "an EC public key",
  okp: "an Ed25519 public key",
}

/** The algorithm of each EC curve Herald verifies, by Node's name of the curve. */
const EC_CURVES: Readonly<Record<string, { readonly alg: string; readonly name: string }>> = {
  prime256v1: { alg: "ES256", name: "P-256" },
  secp384r1: { alg: "ES384", name: "P-384" },
  secp521r1: { alg: "ES512", name: "P-521" },
}

/** Algorithms that fit `family`, for error messages. */
function algorithmsOf(family: KeyFamily): string {
  return Object.keys(ALGORITHM_FAMILY)
    .filter((alg) => ALGORITHM_FAMILY[alg] === family)
    .join(", ")
}

/** The outcome of trying one trusted key on a token. */
export type Attempt =
  | { readonly ok: true; readonly payload: Uint8Array }
  /** `mismatch`: the signature is not this key's; `unfit`: the key cannot take this `alg`; `error`: the key could not be used. */
  | { readonly ok: false; readonly why: "mismatch" | "unfit" | "error"; readonly detail: string }

/** A trusted key, prepared: imported lazily per algorithm, and tried on tokens. */
export interface PreparedKey {
  readonly issuer: string | undefined
  /** The `kid` a token may use to pick this key; `undefined` fits any `kid` (a JWK Set picks its own). */
  readonly kid: string | undefined
  /** `undefined` for a JWK Set, whose keys may be of any family. */
  readonly family: KeyFamily | undefined
  /** A description for error messages, e.g. `the RSA public key keys[1]`. */
  readonly label: string
  /** What it is and the algorithms it takes, e.g. `an EC public key on P-384, which takes ES384`. */
  readonly description: string
  /** Whether a token signed with `alg` can be verified with this key at all. */
  fits(alg: string): boolean
  /** Verifies `token`'s signature with this key and `alg` (already allowlisted). Never throws. */
  attempt(token: string, alg: string): Promise<Attempt>
}

/** Timeouts and cache ages for JWK Set URLs. */
export interface JwksOptions {
  /** HTTP timeout, ms. Default 5000. */
  readonly timeoutMs?: number
  /** Shortest delay between two fetches triggered by an unknown `kid`, ms. Default 30 000. */
  readonly cooldownMs?: number
  /** Longest a fetched set is used before it is fetched again, ms. Default 600 000. */
  readonly cacheMaxAgeMs?: number
}

/**
 * Prepares one configured key, validating it now so that a bad configuration fails at start-up,
 * not on the first request. Throws a plain `Error` naming the key.
 */
export function prepareKey(key: TrustedKey, index: number, jwks: JwksOptions = {}): PreparedKey {
  const name = `keys[${index}]`
  if (key.issuer !== undefined && key.issuer === "")
    throw new Error(`${name}: "issuer" is empty; omit it or name the issuer`)
  switch (key.kind) {
    case "secret":
      return secretKey(key.secret, key.issuer, key.kid, name)
    case "pem":
      return pemKey(key.pem, key.issuer, key.kid, name)
    case "jwks":
      return jwksKey(key.url, key.issuer, name, jwks)
    default:
      throw new Error(`${name}: unknown key kind ${JSON.stringify((key as { kind?: unknown }).kind)}`)
  }
}

function secretKey(
  secret: string,
  issuer: string | undefined,
  kid: string | undefined,
  name: string,
): PreparedKey {
  if (typeof secret !== "string" || secret === "") throw new Error(`${name}: the secret is empty`)
  const bytes = new TextEncoder().encode(secret)
  return {
    issuer,
    kid,
    family: "hmac",
    label: `the secret ${name}`,
    description: describeFamily("hmac"),
    fits: (alg) => ALGORITHM_FAMILY[alg] === "hmac",
    attempt: (token, alg) => verifyWith(token, alg, bytes),
  }
}

function pemKey(pem: string, issuer: string | undefined, kid: string | undefined, name: string): PreparedKey {
  let spki: string
  let type: string | undefined
  let curve: string | undefined
  try {
    // Node reads SPKI, PKCS#1 and X.509 certificates alike, so one import path serves them all.
    const key = createPublicKey(pem)
    type = key.asymmetricKeyType
    curve = key.asymmetricKeyDetails?.namedCurve
    spki = key.export({ type: "spki", format: "pem" }).toString()
  } catch (error) {
    throw new Error(`${name}: not a PEM public key or certificate (${(error as Error).message})`)
  }
  const family: KeyFamily | undefined =
    type === "rsa" || type === "rsa-pss"
      ? "rsa"
      : type === "ec"
        ? "ec"
        : type === "ed25519"
          ? "okp"
          : undefined
  if (family === undefined)
    throw new Error(`${name}: ${type ?? "this"} keys are not supported (use RSA, EC or Ed25519)`)
  // An EC key verifies the one algorithm of its curve (RFC 7518 §3.4): ES256 is P-256 only.
  const curveAlgorithm = family === "ec" ? EC_CURVES[curve ?? ""] : undefined
  if (family === "ec" && curveAlgorithm === undefined)
    throw new Error(
      `${name}: EC keys on curve ${curve ?? "(unknown)"} are not supported (use P-256, P-384 or P-521)`,
    )
  // WebCrypto keys are bound to one algorithm: import once per algorithm actually used.
  const imported = new Map<string, Promise<CryptoKey | Error>>()
  const importFor = (alg: string) => {
    let entry = imported.get(alg)
    if (entry === undefined) {
      entry = importSPKI(spki, alg).catch((error: unknown) => error as Error)
      imported.set(alg, entry)
    }
    return entry
  }
  return {
    issuer,
    kid,
    family,
    label: `${FAMILY_NAME[family]} (${name})`,
    description:
      curveAlgorithm === undefined
        ? describeFamily(family)
        : `an EC public key on ${curveAlgorithm.name}, which takes ${curveAlgorithm.alg}`,
    fits: (alg) =>
      ALGORITHM_FAMILY[alg] === family && (curveAlgorithm === undefined || alg === curveAlgorithm.alg),
    async attempt(token, alg) {
      const key = await importFor(alg)
      if (key instanceof Error)
        return { ok: false, why: "unfit", detail: `${alg} cannot use it: ${key.message}` }
      return verifyWith(token, alg, key)
    },
  }
}

function jwksKey(url: string, issuer: string | undefined, name: string, options: JwksOptions): PreparedKey {
  const problem = jwksUrlProblem(url)
  if (problem !== undefined) throw new Error(`${name}: ${problem}`)
  const parsed = new URL(url)
  const set = createRemoteJWKSet(parsed, {
    timeoutDuration: options.timeoutMs ?? 5000,
    cooldownDuration: options.cooldownMs ?? 30_000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
  })
  const where = `the JWK Set at ${parsed.href}`
  return {
    issuer,
    kid: undefined,
    family: undefined,
    label: where,
    description: "a JWK Set (asymmetric keys only)",
    // A JWK Set never holds a shared secret the hub would trust (jose refuses `oct` keys from it).
    fits: (alg) => ALGORITHM_FAMILY[alg] !== undefined && ALGORITHM_FAMILY[alg] !== "hmac",
    async attempt(token, alg) {
      try {
        const { payload } = await compactVerify(token, set, { algorithms: [alg] })
        return { ok: true, payload }
      } catch (error) {
        if (error instanceof errors.JWKSMultipleMatchingKeys) {
          // Several keys fit the `kid`/`alg`: try each of them (all are in the trusted set).
          for await (const key of error as unknown as AsyncIterable<CryptoKey>) {
            const result = await verifyWith(token, alg, key)
            if (result.ok) return result
          }
          return {
            ok: false,
            why: "mismatch",
            detail: `none of the keys of ${where} matching the token verifies it`,
          }
        }
        if (error instanceof errors.JWSSignatureVerificationFailed) {
          return { ok: false, why: "mismatch", detail: `${where}: the signature does not verify` }
        }
        if (error instanceof errors.JWKSNoMatchingKey) {
          return { ok: false, why: "mismatch", detail: `${where} has no ${alg} key${kidOf(token)}` }
        }
        if (error instanceof errors.JWKSTimeout) {
          return { ok: false, why: "error", detail: `${where} did not answer in time` }
        }
        const cause = (error as { cause?: { message?: string } }).cause?.message
        return {
          ok: false,
          why: "error",
          detail: `could not use ${where}: ${(error as Error).message}${cause ? ` (${cause})` : ""}`,
        }
      }
    },
  }
}

/** Verifies the signature with one imported key. */
async function verifyWith(token: string, alg: string, key: CryptoKey | Uint8Array): Promise<Attempt> {
  try {
    const { payload } = await compactVerify(token, key, { algorithms: [alg] })
    return { ok: true, payload }
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      return { ok: false, why: "mismatch", detail: "the signature does not verify" }
    }
    return { ok: false, why: "error", detail: (error as Error).message }
  }
}

function kidOf(token: string): string {
  try {
    const header = JSON.parse(
      Buffer.from(token.split(".")[0] ?? "", "base64url").toString(),
    ) as JWSHeaderParameters
    return typeof header.kid === "string" ? ` with kid "${header.kid.slice(0, 80)}"` : ""
  } catch {
    return ""
  }
}

/**
 * Why `key` can verify no token signed with any of `algorithms` (what it is, and which algorithms
 * it takes), or `undefined` when it can verify some: a key that fits none of them refuses every
 * token, so a configuration holding one is an error.
 */
export function unusableKeyProblem(key: PreparedKey, algorithms: readonly string[]): string | undefined {
  if (algorithms.some((alg) => key.fits(alg))) return undefined
  return `it is ${key.description}`
}

/** A description of the keys of `family`, for the algorithm-confusion error. */
function describeFamily(family: KeyFamily): string {
  return `${FAMILY_NAME[family]}, which takes ${algorithmsOf(family)}`
}
