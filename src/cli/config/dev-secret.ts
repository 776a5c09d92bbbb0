import { randomBytes } from "node:crypto"
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"

/** The dev-mode secret file's name inside the data directory. */
export const DEV_SECRET_FILE = "dev-secret"

/** The dev-mode HS256 secret and where it is kept. */
export interface DevSecret {
  readonly secret: string
  /** Absolute path of the file holding it. */
  readonly file: string
  /** Whether this start created it (tokens minted before are void when it is new). */
  readonly created: boolean
}

/**
 * The dev secret in `<dataDir>/dev-secret`, created on first use: 32 random bytes (base64url),
 * mode 0600, so that tokens printed once keep working across restarts.
 */
export function loadOrCreateDevSecret(dataDir: string): DevSecret {
  const file = join(dataDir, DEV_SECRET_FILE)
  const existing = readDevSecret(dataDir)
  if (existing !== undefined) {
    // The file is a credential: tighten a mode loosened by a copy or an umask.
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600)
    return { secret: existing, file, created: false }
  }
  mkdirSync(dataDir, { recursive: true })
  const secret = randomBytes(32).toString("base64url")
  try {
    // "wx": two processes starting at once must not overwrite each other's secret.
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    const raced = readDevSecret(dataDir)
    if (raced !== undefined) return { secret: raced, file, created: false }
    throw error
  }
  return { secret, file, created: true }
}

/** The dev secret of `dataDir`, or `undefined` when there is none (no file, or an empty one). */
export function readDevSecret(dataDir: string): string | undefined {
  try {
    const secret = readFileSync(join(dataDir, DEV_SECRET_FILE), "utf8").trim()
    return secret === "" ? undefined : secret
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error
  }
}

/** The file, beside the dev secret, naming the resource and issuer the dev hub checks tokens for. */
export const DEV_HUB_FILE = "dev-hub.json"

/** What a dev hub checks its tokens for: what client commands mint theirs for. */
export interface DevHub {
  /** The `aud` it asks. */
  readonly resource: string
  /** The `iss` it asks. */
  readonly issuer: string
  /** The port it listens on: the note is its for a `--hub` URL of that port only. */
  readonly port: number
  /**
   * Whether it takes subscriber tokens signed with the dev secret: not when
   * `--subscriber-jwt-key` verifies them (a note without it, from an older hub, says yes).
   */
  readonly subscriberTokens: boolean
}

/**
 * Notes in `<dataDir>/dev-hub.json` the resource and issuer (and the roles the dev secret signs
 * for) of the dev hub now serving from
 * `dataDir`: a client command given another name of the hub (`http://127.0.0.1:8080` for a hub
 * that calls itself `http://localhost:8080`) or run without the hub's config still mints a
 * token it takes.
 */
export function writeDevHub(dataDir: string, hub: DevHub): void {
  writeFileSync(join(dataDir, DEV_HUB_FILE), `${JSON.stringify(hub)}\n`)
}

/** The dev hub noted in `dataDir`, or `undefined` when none is (or the note is unreadable). */
export function readDevHub(dataDir: string): DevHub | undefined {
  try {
    const hub = JSON.parse(readFileSync(join(dataDir, DEV_HUB_FILE), "utf8")) as Partial<DevHub>
    return typeof hub.resource === "string" && typeof hub.issuer === "string" && typeof hub.port === "number"
      ? {
          resource: hub.resource,
          issuer: hub.issuer,
          port: hub.port,
          subscriberTokens: hub.subscriberTokens !== false,
        }
      : undefined
  } catch {
    return undefined
  }
}
