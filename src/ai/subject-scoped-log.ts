import { createHash } from "node:crypto"

const digest = (parts: readonly unknown[]): string =>
  createHash("sha256").update(JSON.stringify(parts)).digest("base64url")

/**
 * The log under `prefix` for a name a client chose (a chat id, an `Idempotency-Key`), scoped to
 * the token's subject: two subjects using the same name never share a log. The name is hashed,
 * so any string makes a short log name with no character an engine reads specially (Redis hash
 * tags are `{…}`).
 */
export function subjectScopedLog(prefix: string, subject: string | undefined, name: string): string {
  return `${prefix}${digest([subject ?? null, name])}`
}

/**
 * The folder under `prefix` holding one subject's logs, ending in `/`: listing it finds that
 * subject's and no other's (the subject hashed, as in {@link subjectScopedLog}).
 */
export function subjectFolder(prefix: string, subject: string | undefined): string {
  return `${prefix}${digest([subject ?? null])}/`
}
