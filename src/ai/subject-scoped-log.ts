import { createHash } from "node:crypto"

/**
 * The log under `prefix` for a name a client chose (a chat id, an `Idempotency-Key`), scoped to
 * the token's subject: two subjects using the same name never share a log. The name is hashed,
 * so any string makes a short log name with no character an engine reads specially (Redis hash
 * tags are `{…}`).
 */
export function subjectScopedLog(prefix: string, subject: string | undefined, name: string): string {
  const digest = createHash("sha256")
    .update(JSON.stringify([subject ?? null, name]))
    .digest("base64url")
  return `${prefix}${digest}`
}
