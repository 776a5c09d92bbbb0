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
