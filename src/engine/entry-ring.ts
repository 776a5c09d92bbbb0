import { takesEntry } from "./checks.js"
import type { Entry } from "./engine.js"

/** Slots freed at the front of the buffer before it is compacted (amortized O(1) trimming). */
const COMPACT_AFTER = 1024
/** What an entry costs besides its data and key (its object, position string, map slots), about. */
const ENTRY_OVERHEAD_BYTES = 128

/** About the memory an entry of `data` and `key` holds: its strings as V8 holds them, plus its overhead. */
export function entryBytes(data: string, key: string | undefined): number {
  return stringBytes(data) + (key === undefined ? 0 : stringBytes(key)) + ENTRY_OVERHEAD_BYTES
}

/** What V8 holds a string in: a byte per character when all are Latin-1, else two. */
export function stringBytes(text: string): number {
  return TWO_BYTE.test(text) ? text.length * 2 : text.length
}

const TWO_BYTE = /[\u0100-\uffff]/

/**
 * The entries one log holds, oldest first, with O(1) lookup by seq (seqs are contiguous, so a
 * seq maps to a slot) and by key (the oldest held entry carrying it, kept right through trims
 * and repeated keys in O(1) per entry).
 */
export class EntryRing {
  /** Held entries are `#entries[#head..]`. */
  #entries: (Entry | undefined)[] = []
  #head = 0
  /** The seq of the newest entry ever stored (0 before the first). */
  #lastSeq = 0
  /** key → seq of the oldest held entry with that key. */
  readonly #firstSeq = new Map<string, number>()
  /** key → seq of the newest held entry with that key, only for keys held more than once. */
  readonly #newestSeq = new Map<string, number>()
  /** seq → seq of the next held entry with the same key, only for keys held more than once. */
  readonly #nextSameKey = new Map<number, number>()
  #bytes = 0

  /** The seq of the newest entry ever stored, held or not (0 before the first). */
  get lastSeq(): number {
    return this.#lastSeq
  }

  /** The seq before the oldest held entry: reading after it misses nothing held. */
  get floorSeq(): number {
    const oldest = this.#entries[this.#head]
    return oldest === undefined ? this.#lastSeq : oldest.seq - 1
  }

  /** About the memory the held entries take ({@link entryBytes}). */
  get bytes(): number {
    return this.#bytes
  }

  /** How many entries are held. */
  get size(): number {
    return this.#entries.length - this.#head
  }

  oldest(): Entry | undefined {
    return this.#entries[this.#head]
  }

  /** Stores the next entry; its seq must be `lastSeq + 1`. */
  push(entry: Entry): void {
    this.#entries.push(entry)
    this.#bytes += entryBytes(entry.data, entry.key)
    this.#lastSeq = entry.seq
    const key = entry.key
    if (key === undefined) return
    const first = this.#firstSeq.get(key)
    if (first === undefined) {
      this.#firstSeq.set(key, entry.seq)
      return
    }
    // A repeated key keeps meaning its oldest use; chain this use behind the newest so trimming
    // the oldest hands the key on to the next use in O(1).
    this.#nextSameKey.set(this.#newestSeq.get(key) ?? first, entry.seq)
    this.#newestSeq.set(key, entry.seq)
  }

  /**
   * Up to `limit` entries after `seq` (at least the floor seq), oldest first, holding at most
   * `maxBytes` of data as a read takes them ({@link takesEntry}).
   */
  after(seq: number, limit: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    const from = this.#head + (seq - this.floorSeq)
    let end = Math.min(from + limit, this.#entries.length)
    if (maxBytes !== Number.POSITIVE_INFINITY) {
      let bytes = 0
      for (let i = from; i < end; i++) {
        const size = (this.#entries[i] as Entry).data.length
        if (!takesEntry(i - from, bytes, size, maxBytes)) {
          end = i
          break
        }
        bytes += size
      }
    }
    return this.#entries.slice(from, end) as Entry[]
  }

  /** The seq of the oldest held entry with `key`. */
  seqOfKey(key: string): number | undefined {
    return this.#firstSeq.get(key)
  }

  /** Drops the oldest held entry. */
  dropOldest(): void {
    const oldest = this.#entries[this.#head]
    if (oldest === undefined) return
    this.#entries[this.#head] = undefined
    this.#head++
    this.#bytes -= entryBytes(oldest.data, oldest.key)
    const key = oldest.key
    if (key !== undefined) {
      // Trimming goes in seq order, so the entry dropped is always the oldest use of its key.
      const next = this.#nextSameKey.get(oldest.seq)
      if (next === undefined) {
        this.#firstSeq.delete(key)
        this.#newestSeq.delete(key)
      } else {
        this.#nextSameKey.delete(oldest.seq)
        this.#firstSeq.set(key, next)
        if (this.#newestSeq.get(key) === next) this.#newestSeq.delete(key)
      }
    }
    if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head)
      this.#head = 0
    }
  }
}
