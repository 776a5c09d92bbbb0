import { randomBytes } from "node:crypto"

/** Random bytes in a generation id: 16 bytes (128 bits) make it unguessable, 22 base64url characters. */
const ID_BYTES = 16
const ID = /^[A-Za-z0-9_-]{22}$/

/** The prefix of every generation's log name. */
export const GENERATION_LOG_PREFIX = "ai/gen/"

/**
 * A new generation id: 128 random bits as base64url. Unguessable on purpose: anyone who knows an
 * id may try to read it, so the id itself must not be enumerable (auth still decides).
 */
export function newGenerationId(): string {
  return randomBytes(ID_BYTES).toString("base64url")
}

/** Whether `value` has the shape of a generation id (a malformed one is a 404 before any lookup). */
export function isGenerationId(value: string): boolean {
  return ID.test(value)
}

/** The log holding generation `id`. */
export function generationLog(id: string): string {
  return `${GENERATION_LOG_PREFIX}${id}`
}

/** The path grants name a generation by (docs/authorization.md: the `ai` app's resources). */
export function generationPath(id: string): string {
  return `/v1/generations/${id}`
}
