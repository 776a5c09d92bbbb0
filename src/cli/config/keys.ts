import { createPublicKey } from "node:crypto"
import { existsSync, readFileSync, statSync } from "node:fs"
import { resolve } from "node:path"
import type { TrustedKey } from "../../auth/keys.js"

/** A key setting's value made into a trusted key, or why it cannot be. */
export type KeyResolution =
  | { readonly ok: true; readonly key: TrustedKey; readonly warning?: string }
  | { readonly ok: false; readonly message: string }

/** Secrets shorter than this many bytes are flagged: RFC 7518 §3.2 wants a key as long as the hash (32 for HS256). */
const MIN_SECRET_BYTES = 32
/** Key files past this size are not keys (a bound on what is read at startup). */
const MAX_KEY_FILE_BYTES = 1024 * 1024

/**
 * Reads a key setting: PEM text (`-----BEGIN …`), the path of a file holding a PEM key or a
 * secret (e.g. a Docker secret), or the HMAC secret itself. A value that looks like a path
 * (`/…`, `./…`, `*.pem`) but names no file is an error rather than a secret, so that a typo in
 * a path never becomes a weak secret.
 */
export function resolveKey(value: string, cwd: string, issuer: string | undefined): KeyResolution {
  const bound = issuer === undefined ? {} : { issuer }
  const trimmed = value.trim()
  if (trimmed.startsWith("-----BEGIN")) return fromPem(trimmed.replaceAll("\\n", "\n"), bound, "the PEM text")
  const path = resolve(cwd, trimmed)
  if (existsSync(path)) {
    const stats = statSync(path)
    if (!stats.isFile()) return { ok: false, message: `${path} is not a file` }
    if (stats.size > MAX_KEY_FILE_BYTES) return { ok: false, message: `${path} is too large to be a key` }
    const content = readFileSync(path, "utf8").trim()
    if (content.startsWith("-----BEGIN")) return fromPem(content, bound, path)
    if (content === "") return { ok: false, message: `${path} is empty` }
    return fromSecret(content, bound)
  }
  if (/^(\/|\.\.?[\\/]|~)|\.(pem|key|crt|cer)$/i.test(trimmed)) {
    return {
      ok: false,
      message: `no such file: ${path} (a value starting with / or ./, or ending in .pem, is read as a path; for a secret, use one that does not, e.g. \`openssl rand -hex 32\`)`,
    }
  }
  return fromSecret(trimmed, bound)
}

function fromSecret(secret: string, bound: { issuer?: string }): KeyResolution {
  const key: TrustedKey = { kind: "secret", secret, ...bound }
  if (Buffer.byteLength(secret) >= MIN_SECRET_BYTES) return { ok: true, key }
  return {
    ok: true,
    key,
    warning: `the HMAC secret is ${Buffer.byteLength(secret)} bytes; use at least ${MIN_SECRET_BYTES} random bytes`,
  }
}

/** A public key or certificate as given; a private key is reduced to its public half (never kept). */
function fromPem(pem: string, bound: { issuer?: string }, where: string): KeyResolution {
  try {
    const publicKey = createPublicKey(pem)
    const spki = pem.includes("PRIVATE KEY") ? String(publicKey.export({ type: "spki", format: "pem" })) : pem
    return { ok: true, key: { kind: "pem", pem: spki, ...bound } }
  } catch (error) {
    return {
      ok: false,
      message: `${where} is not a usable PEM public key, certificate or private key (${(error as Error).message})`,
    }
  }
}
