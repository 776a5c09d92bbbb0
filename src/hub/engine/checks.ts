/** Rejects a page size that is not a positive integer. */
export function assertLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`The read limit must be a positive integer; got ${String(limit)}.`)
  }
}

/** Rejects a seq that is not an integer. */
export function assertSeq(seq: number): void {
  if (!Number.isSafeInteger(seq))
    throw new TypeError(`readAfterSeq() needs an integer seq; got ${String(seq)}.`)
}

/** Rejects a cursor that is not a string. */
export function assertCursor(cursor: string): void {
  if (typeof cursor !== "string")
    throw new TypeError(`readAfter() needs a string cursor; got ${typeof cursor}.`)
}
