import { resolve } from "node:path"
import { createDevTokens } from "../auth/dev-tokens.js"
import { readDevHub, readDevSecret } from "./config/dev-secret.js"
import type { TokenSource } from "./http-errors.js"
import { normalizeHubUrl } from "./hub-url.js"

/** The issuer of dev tokens when none is configured. */
export const DEV_ISSUER = "urn:herald:dev"

/** The banner's dev tokens live this long: a month of development without re-copying them. */
export const DEV_TOKEN_TTL_SEC = 30 * 86_400

/** Where `publish` and `listen` find the hub when neither `--hub` nor `HERALD_HUB_URL` says. */
export const DEFAULT_CLIENT_HUB_URL = "http://localhost:8080/.well-known/mercure"

/** How `publish` and `listen` reach the hub. */
export interface HubAccess {
  readonly hubUrl: string
  /** The bearer token, if any (none: anonymous). */
  readonly token: string | undefined
  /**
   * Where the token came from, for messages: `--token`, `HERALD_TOKEN`, `the dev secret in …`;
   * or, for none, the dev hub found that gives no subscriber tokens (else `undefined`).
   */
  readonly tokenSource: TokenSource | undefined
}

/** The options both client commands share. */
export interface HubAccessOptions {
  readonly hub?: string
  readonly token?: string
  readonly dataDir?: string
}

/**
 * The hub URL (a bare origin given the Mercure path, see {@link normalizeHubUrl}) and the token
 * for a client command. The token is `--token`, else `HERALD_TOKEN`,
 * else — in dev mode — one minted for `role` from the dev secret that `herald serve` keeps in
 * the data directory (same cwd, same `--data-dir`), unless the hub noted there does not take it
 * for that role, else none. The hub is `--hub`, else
 * `HERALD_HUB_URL`, else `fallbackHub` (what the command's arguments name, or the default).
 */
export async function resolveHubAccess(
  options: HubAccessOptions,
  role: "publisher" | "subscriber",
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  fallbackHub = DEFAULT_CLIENT_HUB_URL,
): Promise<HubAccess> {
  const given = options.hub ?? (env.HERALD_HUB_URL?.trim() || fallbackHub)
  // As `herald serve` reads its --hub-url: a bare origin is the hub at /.well-known/mercure, and
  // the minted token's aud is the URL as the hub names itself.
  const hubUrl = normalizeHubUrl(given)
  if (hubUrl === undefined) {
    const where = options.hub === undefined ? "HERALD_HUB_URL" : "--hub"
    throw new UsageError(`${where} "${given}": expected an absolute http:// or https:// URL`)
  }
  if (options.token !== undefined) return { hubUrl, token: options.token, tokenSource: "--token" }
  const fromEnv = env.HERALD_TOKEN?.trim()
  if (fromEnv) return { hubUrl, token: fromEnv, tokenSource: "HERALD_TOKEN" }
  const dataDir = resolve(cwd, options.dataDir ?? (env.HERALD_DATA_DIR?.trim() || "./herald-data"))
  const secret = readDevSecret(dataDir)
  if (secret === undefined) return { hubUrl, token: undefined, tokenSource: undefined }
  // What the hub serving from that directory on that port checks tokens for (it notes them at
  // start), else its configured resource (else its URL) and issuer as this environment says.
  const noted = readDevHub(dataDir)
  const hub = noted?.port === portOf(hubUrl) ? noted : undefined
  // That hub checks subscriber tokens with --subscriber-jwt-key: it would refuse one from the dev
  // secret, where a client on its machine gets in with none. A refusal says so, not "run from
  // the directory of a dev-mode herald serve": this is one.
  if (role === "subscriber" && hub?.subscriberTokens === false) {
    return { hubUrl, token: undefined, tokenSource: { kind: "dev hub without subscriber tokens", dataDir } }
  }
  const tokens = await createDevTokens({
    secret,
    resource: hub?.resource ?? (env.HERALD_RESOURCE?.trim() || hubUrl),
    issuer: hub?.issuer ?? (env.HERALD_JWT_ISSUER?.trim() || DEV_ISSUER),
    ttlSec: 3600,
  })
  return { hubUrl, token: tokens[role], tokenSource: `the dev secret in ${dataDir}` }
}

/** A mistake in how a command was called: printed without a stack, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError"
}

/** The port of `url`, its scheme's when it names none. */
function portOf(url: string): number {
  const { port, protocol } = new URL(url)
  return port === "" ? (protocol === "https:" ? 443 : 80) : Number(port)
}
