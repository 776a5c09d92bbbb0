/**
 * Argument checks every engine runs before touching its store. A bad argument is a bug in the
 * caller, so it throws (TypeError or RangeError naming the field); refusals of valid requests are
 * results (engine.ts).
 */

import type { AppendOptions, NewEntry, ReadOptions, StopOptions } from "./engine.js"
import { assertProducerFence } from "./producer.js"

/** Longest log name accepted, in UTF-16 code units. */
export const MAX_LOG_NAME = 1024

/**
 * Rejects a log name that is not a string of 1 to {@link MAX_LOG_NAME} characters, or that holds
 * a lone surrogate: UTF-8 cannot store one, so two such names would be one log in sqlite and Redis.
 */
export function assertLogName(log: string): void {
  if (typeof log !== "string") throw new TypeError(`The log name must be a string; got ${typeof log}.`)
  if (log.length === 0 || log.length > MAX_LOG_NAME) {
    throw new RangeError(`The log name must be 1 to ${MAX_LOG_NAME} characters long; got ${log.length}.`)
  }
  if (!log.isWellFormed())
    throw new RangeError("The log name must not hold a lone surrogate (not text in UTF-8).")
}

/** Rejects a page size (`field`) that is not a positive integer. */
export function assertLimit(limit: number, field = "limit"): void {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`\`${field}\` must be a positive integer; got ${String(limit)}.`)
  }
}

/** Rejects read options whose `maxBytes`, when given, is not a positive integer. */
export function assertReadOptions(options: ReadOptions): void {
  if (options.maxBytes !== undefined) assertLimit(options.maxBytes, "maxBytes")
}

/**
 * Whether a read that took `count` entries holding `bytes` takes the next, of `size`, under a
 * `maxBytes` bound ({@link ReadOptions.maxBytes}): the first always, another only while those
 * taken hold less than `maxBytes` and it keeps them within it.
 */
export function takesEntry(count: number, bytes: number, size: number, maxBytes: number): boolean {
  return count === 0 || (bytes < maxBytes && bytes + size <= maxBytes)
}

/** Rejects a string argument (`field`) of another type. */
export function assertString(value: unknown, field: string): asserts value is string {
  if (typeof value !== "string") throw new TypeError(`\`${field}\` must be a string; got ${typeof value}.`)
}

/** Rejects a duration (`field`) that is not a positive finite number of milliseconds. */
export function assertDuration(ms: number, field: string): void {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0) {
    throw new RangeError(`\`${field}\` must be a positive number of milliseconds; got ${String(ms)}.`)
  }
}

/**
 * Rejects a batch that is not an array of `{ data: string, key?: string }`, naming the entry, and
 * returns it as stored: a lone surrogate (which UTF-8 cannot hold) as U+FFFD, as sqlite and Redis
 * keep it and the wire carries it, so that an entry reads the same live and replayed. The batch
 * itself when every string is well formed.
 */
export function checkedNewEntries(entries: readonly NewEntry[]): readonly NewEntry[] {
  if (!Array.isArray(entries)) throw new TypeError("append() takes an array of entries.")
  let stored: NewEntry[] | undefined
  entries.forEach((entry: NewEntry, i) => {
    if (typeof entry !== "object" || entry === null) {
      throw new TypeError(`entries[${i}] must be an object { data, key? }; got ${String(entry)}.`)
    }
    assertString(entry.data, `entries[${i}].data`)
    if (entry.key !== undefined) assertString(entry.key, `entries[${i}].key`)
    if (entry.data.isWellFormed() && (entry.key === undefined || entry.key.isWellFormed())) return
    stored ??= entries.slice()
    stored[i] =
      entry.key === undefined
        ? { data: entry.data.toWellFormed() }
        : { data: entry.data.toWellFormed(), key: entry.key.toWellFormed() }
  })
  return stored ?? entries
}

/** Rejects malformed append options, naming the field (the `create` config is checked apart). */
export function assertAppendOptions(options: AppendOptions): void {
  if (typeof options !== "object" || options === null)
    throw new TypeError("append() options must be an object.")
  if (options.close !== undefined && typeof options.close !== "boolean") {
    throw new TypeError(`\`close\` must be a boolean; got ${typeof options.close}.`)
  }
  if (options.producer !== undefined) assertProducerFence(options.producer)
  if (options.writerSeq !== undefined) assertString(options.writerSeq, "writerSeq")
  if (options.epoch !== undefined) {
    assertEpoch(options.epoch)
    if (options.create !== undefined)
      throw new TypeError(
        "append() takes `epoch` (this incarnation only) or `create` (make it if missing), not both.",
      )
  }
  const fence = options.fence
  if (fence === undefined) return
  if ("owner" in fence) {
    assertNodeName(fence.owner, "fence.owner")
  } else {
    assertNodeName(fence.takeOver, "fence.takeOver")
    assertNodeName(fence.from, "fence.from")
  }
}

/** Rejects malformed requestStop options, naming the field. */
export function assertStopOptions(options: StopOptions): void {
  if (typeof options !== "object" || options === null)
    throw new TypeError("requestStop() options must be an object.")
  if (options.epoch !== undefined) assertEpoch(options.epoch)
}

/** Rejects an `epoch` option that is not a log's epoch (what a position holds before its `_`). */
function assertEpoch(epoch: string): void {
  assertString(epoch, "epoch")
  if (!/^[0-9a-z]{1,16}$/.test(epoch))
    throw new RangeError(
      `\`epoch\` must be a log's epoch, as a position has it; got ${JSON.stringify(epoch)}.`,
    )
}

/** Rejects a node name (`field`) that is not a non-empty string. */
export function assertNodeName(node: string, field: string): void {
  assertString(node, field)
  if (node === "") throw new RangeError(`\`${field}\` must not be empty.`)
}
