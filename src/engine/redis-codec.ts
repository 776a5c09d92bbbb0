/**
 * How the redis engine writes its values into Redis and reads them back: a new log's meta hash,
 * a head, stream entries, writer seqs. The layout is described in redis-scripts.ts.
 */

import { parseStoredConfig, withOwner } from "./config.js"
import type { Entry, LogConfig, LogHead, NewEntry } from "./engine.js"
import { formatPosition, newEpoch } from "./position.js"
import type { ResolvedRetention } from "./retention.js"

/** A retention as the scripts read it: most entries, and oldest age in ms ("" = none). */
export function retentionArgs(retention: ResolvedRetention): [string, string] {
  return [
    String(retention.maxEntries),
    retention.maxAgeMs === Number.POSITIVE_INFINITY ? "" : String(retention.maxAgeMs),
  ]
}

/** The field/value pairs of a new incarnation's meta hash, created at `now`. */
export function newLogMeta(config: LogConfig, retention: ResolvedRetention, now: number): string[] {
  // `sz` "0": the sizes of all its entries are noted (redis-scripts.ts).
  const fields = ["e", newEpoch(), "t", "0", "sz", "0", "cfg", encodeConfig(config), "ca", String(now)]
  const [mostEntries, oldestAge] = retentionArgs(retention)
  // Written for every log, so that a node still on an older version can trim it (as it did).
  fields.push("mn", mostEntries, "ma", oldestAge)
  if (config.retention === undefined) fields.push("dr", "1")
  if (config.owner !== undefined) fields.push("o", config.owner)
  if (config.ttlMs !== undefined) fields.push("ttl", String(config.ttlMs), "x", String(now + config.ttlMs))
  else if (config.expiresAt !== undefined) fields.push("x", String(config.expiresAt))
  return fields
}

/**
 * A config as JSON with its fields in a fixed order, so that two equal configs are the same
 * string however they were written: `create` compares them in Lua as strings. A `maxAgeMs` of
 * `Infinity` (which JSON cannot say) is written as the string "Infinity".
 */
export function encodeConfig(config: LogConfig): string {
  const { retention, meta } = config
  const plain: Record<string, unknown> = { ...config }
  if (retention !== undefined) {
    const infinite = retention.maxAgeMs === Number.POSITIVE_INFINITY
    plain.retention = sortedFields(infinite ? { ...retention, maxAgeMs: "Infinity" } : retention)
  }
  if (meta !== undefined) plain.meta = sortedFields(meta)
  return JSON.stringify(sortedFields(plain))
}

function sortedFields<T extends object>(value: T): T {
  const sorted: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) sorted[key] = (value as Record<string, unknown>)[key]
  return sorted as T
}

/**
 * A head as the scripts reply it: epoch, tail, floor, closed, stop, created, expires, config,
 * owner, former epochs ("epoch:seq …"). The config is the one given at creation, except its
 * owner: a takeover changes it.
 */
export function decodeHead(name: string, reply: readonly string[]): LogHead {
  const [
    epoch = "",
    tail,
    floor,
    closed,
    stop,
    createdAt,
    expiresAt,
    config = "{}",
    owner = "",
    former = "",
  ] = reply
  const created = parseStoredConfig(config)
  const head = {
    name,
    epoch,
    tail: formatPosition(epoch, Number(tail)),
    floor: formatPosition(epoch, Number(floor)),
    closed: closed === "1",
    stopRequested: stop === "1",
    createdAt: Number(createdAt),
    expiresAt: expiresAt === "" || expiresAt === undefined ? undefined : Number(expiresAt),
    config: owner === "" ? created : withOwner(created, owner),
  }
  if (former === "") return head
  const formerEpochs = former.split(" ").map((pair) => {
    const [formerEpoch = "", seq] = pair.split(":")
    return { epoch: formerEpoch, sharedUntil: Number(seq) }
  })
  return { ...head, formerEpochs }
}

/** A stream entry as XRANGE gives it: `[id, [field, value, …]]`. */
export type StreamEntry = readonly [id: string, fields: readonly string[]]

/** A stream entry of the incarnation `epoch` as an {@link Entry}. */
export function decodeEntry(epoch: string, [id, fields]: StreamEntry): Entry {
  const seq = Number.parseInt(id, 10)
  let data = ""
  let key: string | undefined
  let time = 0
  for (let i = 0; i < fields.length; i += 2) {
    const value = fields[i + 1] as string
    if (fields[i] === "d") data = value
    else if (fields[i] === "k") key = value
    else if (fields[i] === "t") time = Number(value)
  }
  return { position: formatPosition(epoch, seq), seq, data, key, time }
}

/** The entries of an append of `given`, stored from `first` in `epoch` at `time`. */
export function appendedEntries(
  given: readonly NewEntry[],
  epoch: string,
  first: number,
  time: number,
): Entry[] {
  return given.map(
    (entry, i): Entry => ({
      position: formatPosition(epoch, first + i),
      seq: first + i,
      data: entry.data,
      key: entry.key,
      time,
    }),
  )
}

/**
 * The entries of an append as its notification carries them: `,"d":[data…],"k":[key or false…]`,
 * or "" for none (see APPEND_LUA). Each string as Redis stores it, its lone surrogates replaced
 * (as its UTF-8 encoding does), so that a live watcher gets what a later read gets.
 */
export function notificationEntries(entries: readonly NewEntry[]): string {
  if (entries.length === 0) return ""
  const data = entries.map((entry) => stored(entry.data))
  const keys = entries.map((entry) => (entry.key === undefined ? false : stored(entry.key)))
  return `,"d":${JSON.stringify(data)},"k":${JSON.stringify(keys)}`
}

/** `value` as its UTF-8 encoding gives it back: each lone surrogate becomes U+FFFD. */
function stored(value: string): string {
  const text = value as string & { isWellFormed(): boolean; toWellFormed(): string }
  return text.isWellFormed() ? value : text.toWellFormed()
}

/**
 * A writer seq as hex of its UTF-16 code units, four digits each: Lua compares bytes, and the
 * byte order of this form is JavaScript's string order (UTF-8's is not, past U+FFFF).
 */
export function encodeWriterSeq(writerSeq: string): string {
  let hex = ""
  for (let i = 0; i < writerSeq.length; i++) hex += writerSeq.charCodeAt(i).toString(16).padStart(4, "0")
  return hex
}

/** The writer seq {@link encodeWriterSeq} encoded. */
export function decodeWriterSeq(hex: string): string {
  let writerSeq = ""
  for (let i = 0; i < hex.length; i += 4)
    writerSeq += String.fromCharCode(Number.parseInt(hex.slice(i, i + 4), 16))
  return writerSeq
}
