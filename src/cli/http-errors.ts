/**
 * Messages for a hub that answered with an error, or did not answer, written for the person at
 * the terminal: the status, the reason the hub gave in its `WWW-Authenticate` challenge (where
 * Mercure puts it, RFC 6750 §3), the body, and what to try.
 */
import { serverReason } from "../client/refusal.js"

/** The auth-params of a `WWW-Authenticate: Bearer …` challenge (`error`, `error_description`, …). */
export function bearerParams(header: string | null): Record<string, string> {
  const params: Record<string, string> = {}
  if (header === null) return params
  const pattern = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g
  for (const match of header.matchAll(pattern)) {
    const [, name, quoted, token] = match
    if (name !== undefined)
      params[name] = quoted === undefined ? (token ?? "") : quoted.replace(/\\(.)/g, "$1")
  }
  return params
}

/** One paragraph for a non-2xx answer. */
export function describeFailure(
  response: Pick<Response, "status" | "statusText" | "headers">,
  body: string,
  tokenSource: TokenSource | undefined,
): string {
  const lines = [`${response.status} ${response.statusText}`.trim()]
  const challenge = bearerParams(response.headers.get("www-authenticate"))
  if (challenge.error !== undefined || challenge.error_description !== undefined) {
    lines.push(`  ${[challenge.error, challenge.error_description].filter(Boolean).join(": ")}`)
  }
  // The hub's problem document says it in `detail`; the raw JSON would only add noise.
  const text = serverReason(body, response.headers.get("content-type")) ?? body.trim()
  // The hub puts the same reason in its challenge and its body: say it once.
  if (text !== "" && text !== challenge.error_description)
    lines.push(...text.split("\n").map((line) => `  ${line}`))
  if (response.status === 401) lines.push(`  ${whereTheTokenCameFrom(tokenSource)}`)
  return lines.join("\n")
}

/**
 * Where the token a request sent came from, for a refusal's message: `--token`, `HERALD_TOKEN`,
 * `the dev secret in …`; or why none was sent although a dev hub was found: the one noted in
 * `dataDir` signs no subscriber tokens with its dev secret (`--subscriber-jwt-key` verifies them).
 * `undefined`: none was sent, and no dev hub was found to mint one.
 */
export type TokenSource =
  | string
  | { readonly kind: "dev hub without subscriber tokens"; readonly dataDir: string }

/** Where the token a refused request sent came from (`tokenSource`), or that none was sent and how to send one. */
export function whereTheTokenCameFrom(tokenSource: TokenSource | undefined): string {
  if (tokenSource === undefined)
    return "no token was sent: pass --token or HERALD_TOKEN (or run from the directory of a dev-mode herald serve)"
  if (typeof tokenSource === "string") return `the token came from ${tokenSource}`
  return `no token was sent: the dev-mode herald serve of ${tokenSource.dataDir} gives no subscriber tokens (its --subscriber-jwt-key verifies them, not its dev secret): pass one signed with that key with --token or HERALD_TOKEN`
}

/** Node's codes for a TLS certificate it does not trust. */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
])

/**
 * What to say when `error` (or one of its causes) is the hub's TLS certificate not trusted, else
 * `undefined`. No retry fixes that: the command should stop and say how to trust it.
 */
export function untrustedCertificate(url: string, error: unknown): string | undefined {
  for (const cause of errorCauses(error)) {
    if (!(cause instanceof Error)) continue
    const code = (cause as { code?: unknown }).code
    if (typeof code === "string" && UNTRUSTED_CERTIFICATE_CODES.has(code))
      return `the TLS certificate of ${url} is not trusted (${code}: ${cause.message}). For a certificate of your own (self-signed, or from a private CA), run with NODE_EXTRA_CA_CERTS=<its PEM file>`
  }
  return undefined
}

/** `error` and its causes, outermost first, at most 6 deep (fetch wraps a socket's error twice). */
export function errorCauses(error: unknown): unknown[] {
  const chain = [error]
  let current = error
  while (chain.length < 6 && current instanceof Error && current.cause !== undefined) {
    current = current.cause
    chain.push(current)
  }
  return chain
}

/** One line for a request that got no answer. */
export function hubUnreachable(url: string, error: unknown): string {
  if ((error as Error).name === "TimeoutError") return `no answer from ${url} in time`
  const certificate = untrustedCertificate(url, error)
  if (certificate !== undefined) return certificate
  // fetch wraps the socket's error in `cause`; with several addresses (localhost: ::1 and
  // 127.0.0.1) the cause is an AggregateError whose `errors` carry the codes.
  const cause = (error as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause
  const code = cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? (error as Error).message
  return `cannot reach the hub at ${url} (${code}): is \`herald serve\` running? Set --hub or HERALD_HUB_URL`
}
