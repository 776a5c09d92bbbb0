import { randomUUID } from "node:crypto"
import type { Position } from "../engine/position.js"
import { encode } from "../protocol/index.js"

/** The reserved cursor meaning "everything the hub holds". */
export const EARLIEST = "earliest"

/** An update as a publisher gave it, validated. */
export interface NewUpdate {
  /** Canonical topic first, then alternate topics. At least one. */
  readonly topics: readonly string[]
  readonly data: string
  readonly private: boolean
  /** Publisher-supplied id; the hub generates one (`urn:uuid:…`) when absent. */
  readonly id?: string
  /** SSE `event` field. */
  readonly type?: string
  /** SSE `retry` field, ms. */
  readonly retry?: number
}

/** An update the hub's log holds: ordered, identified, serialized once per node. */
export interface StoredUpdate {
  /** Its place in the hub's log (engine position): strictly increasing, never reused. */
  readonly position: Position
  /** The SSE id (the publisher's, or the generated one). The cursor clients resume from. */
  readonly id: string
  readonly topics: readonly string[]
  readonly data: string
  readonly private: boolean
  readonly type: string | undefined
  readonly retry: number | undefined
  /** When the engine accepted it (ms since the epoch). */
  readonly time: number
  /** The complete SSE frame (`id:`, `event:`, `retry:`, `data:` lines and the blank line). */
  readonly frame: string
}

/** An update checked and serialized (its `frame` built once, here), waiting only for its `position` and `time`. */
export type PreparedUpdate = Omit<StoredUpdate, "position" | "time">

/** A fresh update id, as the Mercure spec suggests: a URN built from a random UUID. */
export function generateId(): string {
  return `urn:uuid:${randomUUID()}`
}

/**
 * Checks one update and serializes it once. Throws a `TypeError`/`RangeError` naming the field
 * for bad input; `encode` refuses CR, LF and NUL in `type` and `id`, so no field can be injected
 * into the stream even if the hub's own validation missed it.
 */
export function prepareUpdate(update: NewUpdate): PreparedUpdate {
  if (update === null || typeof update !== "object") {
    throw new TypeError(`An update must be an object; got ${String(update)}.`)
  }
  const { topics, data, type, retry } = update
  if (!Array.isArray(topics) || topics.length === 0 || !topics.every((t) => typeof t === "string")) {
    throw new TypeError("An update needs `topics`: a non-empty array of strings.")
  }
  if (typeof data !== "string") throw new TypeError("An update's `data` must be a string.")
  if (type !== undefined && typeof type !== "string")
    throw new TypeError("An update's `type` must be a string.")
  let id = update.id
  if (id === undefined) id = generateId()
  else if (typeof id !== "string" || id === "") {
    throw new TypeError("An update's `id` must be a non-empty string (omit it to have one generated).")
  } else if (id === EARLIEST) {
    // A client resuming from this id would be read as "replay everything".
    throw new TypeError(`An update's \`id\` must not be "${EARLIEST}": that cursor is reserved.`)
  }
  const frame = encode({ id, event: type, retry, data })
  return {
    id,
    topics: Object.freeze([...topics]),
    data,
    private: update.private === true,
    type,
    retry,
    frame,
  }
}
