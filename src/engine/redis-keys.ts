/**
 * Key naming of the redis engine. Every key of one log shares ONE Cluster hash tag, so a log
 * lives in one slot and its Lua scripts (which touch all of them, and publish on its channel)
 * run on one node. Different logs get different tags, so logs spread over the slots.
 *
 * The tag is `{<prefix>:<log>}` for a short log name without braces. A long name, or one with
 * `{`, `}` or a leading `#`, is replaced by `#` and its SHA-256 (128 bits, hex): the tag stays
 * bounded, and cannot be cut short by a brace in the name (Redis hashes only what lies between
 * the first `{` and the next `}`).
 *
 * A log name may choose its tag the way a Redis key does: when its first `{` is followed by a
 * `}` with something in between, that inside is the tag, named as a log name would be. So the
 * log `a{b}c` lives in the slot of the log `b`, and logs that an app wants together (a Durable
 * Stream and the records of its forks) share a slot. Their keys stay apart: after the tag comes
 * the hash of the whole name.
 */

import { createHash } from "node:crypto"

/** Log names up to this many characters appear as they are in the keys. */
const RAW_NAME_MAX = 100

/** The keys and channel of one log. Their order is the KEYS order of the scripts. */
export interface LogKeys {
  /** A hash: epoch, tail seq, closed, stop, owner, writer seq, config, times, retention. */
  readonly meta: string
  /** The stream of entries; entry `seq` has the stream id `<seq>-0`. */
  readonly stream: string
  /** A hash: entry key → seq of the oldest held entry with that key. */
  readonly keyFirst: string
  /** A hash: entry key → seq of the newest held entry with that key (repeated keys only). */
  readonly keyLast: string
  /** A hash: seq → seq of the next held entry with the same key (repeated keys only). */
  readonly keyNext: string
  /** A hash: producer id → `epoch:seq` of its last accepted append. */
  readonly producers: string
  /** The pub/sub channel of the log's live appends (same hash tag: SPUBLISH from its scripts). */
  readonly channel: string
}

/** The keys shared by every log. */
export interface GlobalKeys {
  /** A sorted set of log names (all scores 0: lexicographic order) for `list`. */
  readonly logs: string
  /** A sorted set: node → lease expiry (ms since the Unix epoch, by the engine's clock). */
  readonly leases: string
  /** The channel of cross-node signals (a shard channel on a Cluster: see redis-feed.ts). */
  readonly signals: string
  /** A hash: `id` → the replication id of the last Redis whose logs were all checked for forks. */
  readonly forkSweep: string
}

/** Rejects a key prefix that would break the hash tags. */
export function assertKeyPrefix(prefix: string): void {
  if (typeof prefix !== "string" || prefix === "" || /[{}]/.test(prefix)) {
    throw new TypeError(`redis engine: keyPrefix must be a non-empty string without braces; got ${prefix}.`)
  }
}

/** The keys of `log` under `prefix`. */
export function logKeys(prefix: string, log: string): LogKeys {
  const chosen = chosenTag(log)
  const tag =
    chosen === undefined ? `{${prefix}:${tagName(log)}}` : `{${prefix}:${tagName(chosen)}}:${hashedName(log)}`
  return {
    meta: `${tag}:m`,
    stream: `${tag}:s`,
    keyFirst: `${tag}:kf`,
    keyLast: `${tag}:kl`,
    keyNext: `${tag}:kn`,
    producers: `${tag}:p`,
    channel: `${tag}:c`,
  }
}

/** The keys shared by every log under `prefix`. */
export function globalKeys(prefix: string): GlobalKeys {
  return {
    logs: `${prefix}:logs`,
    leases: `${prefix}:leases`,
    signals: `${prefix}:signals`,
    forkSweep: `${prefix}:fork-sweep`,
  }
}

/** The tag a log name chooses (Redis's rule: between its first `{` and the next `}`, if not empty). */
function chosenTag(log: string): string | undefined {
  const open = log.indexOf("{")
  if (open === -1) return undefined
  const close = log.indexOf("}", open + 1)
  return close > open + 1 ? log.slice(open + 1, close) : undefined
}

function tagName(log: string): string {
  if (log.length <= RAW_NAME_MAX && !/[{}]/.test(log) && !log.startsWith("#")) return log
  return hashedName(log)
}

/** `#` and 128 bits of the name's SHA-256, in hex: never a raw name (those never start with `#`). */
function hashedName(log: string): string {
  return `#${createHash("sha256").update(log).digest("hex").slice(0, 32)}`
}
