import { createHash } from "node:crypto"
import type { Engine } from "../engine/engine.js"
import { formatPosition, parsePosition } from "../engine/position.js"
import { IDEMPOTENCY_KEY_HEADER } from "./ai-headers.js"
import { RequestFieldError } from "./request-field-error.js"
import { subjectScopedLog } from "./subject-scoped-log.js"
import { createTurns } from "./turns.js"

const IDEMPOTENCY_LOG_PREFIX = "ai/idempotency/"
/** Longest key accepted (the SDKs send about 60 characters). */
const MAX_KEY_LENGTH = 256
/** The longest a request waits for the turn before its own for the same key (see `inTurn`). */
export const TURN_WAIT_MS = 2_000
/** Claim numbers as writer seqs: fixed width, so that string order is numeric order. */
const CLAIM_DIGITS = 12

/** What an `Idempotency-Key` says of a request that creates a generation. */
export type IdempotencyCheck =
  /** An earlier request with this key made generation `id`: answer it again. */
  | { readonly kind: "replay"; readonly id: string }
  /** Start a generation and claim the key for it; `claim` resolves `false` when another request won. */
  | { readonly kind: "claim"; claim(id: string): Promise<boolean> }
  /** The key was used with another request body. */
  | { readonly kind: "mismatch" }

/** The `Idempotency-Key`s of every node, kept in the engine. */
export interface IdempotencyKeys {
  /**
   * What `key`, sent by `subject` with a request whose fingerprint is `fingerprint`, says.
   * `reusable(id)` tells whether the generation an earlier request made may be answered again.
   */
  check(
    subject: string | undefined,
    key: string,
    fingerprint: string,
    reusable: (id: string) => Promise<boolean>,
  ): Promise<IdempotencyCheck>
  /**
   * Runs `work` once every earlier call of this node for the same subject and key has settled,
   * or after {@link TURN_WAIT_MS} of waiting for the one before it: of requests racing for a key
   * on one node, the first claims it and the others find its generation, before any of them
   * takes a place under the subject's limits. A turn that takes longer (a store that does not
   * answer) lets the next one go: they race in the store then, where one claim still wins, as
   * requests on other nodes always do.
   */
  inTurn<T>(subject: string | undefined, key: string, work: () => Promise<T>): Promise<T>
}

/**
 * Keys kept `windowMs` after the last generation started with them. A key maps to a generation
 * in a log of its own (per subject and key): its config holds the request's fingerprint, its
 * entry the generation id. Claims are appends numbered with the engine's writer seq, so of two
 * requests racing for a key — on any nodes — exactly one wins, and the other answers the
 * winner's generation.
 */
export function createIdempotencyKeys(engine: Engine, windowMs: number): IdempotencyKeys {
  const turns = createTurns()
  return {
    inTurn: (subject, key, work) =>
      turns.take(subjectScopedLog(IDEMPOTENCY_LOG_PREFIX, subject, key), work, TURN_WAIT_MS),
    async check(subject, key, fingerprint, reusable) {
      const log = subjectScopedLog(IDEMPOTENCY_LOG_PREFIX, subject, key)
      const head = await engine.head(log)
      if (head !== undefined && head.config.meta?.request !== fingerprint) return { kind: "mismatch" }
      const tail = head === undefined ? undefined : parsePosition(head.tail)
      const claims = tail?.seq ?? 0
      if (tail !== undefined && claims > 0) {
        const read = await engine.read(log, formatPosition(tail.epoch, claims - 1), 1, { touch: false })
        const id = read.held ? read.entries[0]?.data : undefined
        if (id !== undefined && (await reusable(id))) return { kind: "replay", id }
      }
      const config = {
        ttlMs: windowMs,
        retention: { maxEntries: 1, maxAgeMs: windowMs },
        meta: { request: fingerprint },
      }
      const writerSeq = String(claims + 1).padStart(CLAIM_DIGITS, "0")
      return {
        kind: "claim",
        async claim(id) {
          let result = await engine.append(log, [{ data: id }], { create: config, writerSeq })
          // Made with another window: the log's config stays, the claim goes in.
          if (result.status === "conflict" && result.head.config.meta?.request === fingerprint)
            result = await engine.append(log, [{ data: id }], { writerSeq })
          return result.status === "appended"
        },
      }
    },
  }
}

/** The request's `Idempotency-Key`, if it sent one. Throws `RequestFieldError` for one that is empty or too long. */
export function idempotencyKeyOf(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  const key = Array.isArray(value) ? value.join(",") : value
  if (key === "" || key.length > MAX_KEY_LENGTH) {
    throw new RequestFieldError(IDEMPOTENCY_KEY_HEADER, `must be 1 to ${MAX_KEY_LENGTH} characters`)
  }
  return key
}

/** What makes two requests "the same" for a key: the endpoint and the body. */
export function requestFingerprint(endpoint: string, body: unknown): string {
  return createHash("sha256").update(endpoint).update("\n").update(JSON.stringify(body)).digest("base64url")
}
