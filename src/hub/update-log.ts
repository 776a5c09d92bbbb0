import type { Engine, Entry, NewEntry } from "../engine/engine.js"
import { formatPosition, type Position, parsePosition, START } from "../engine/position.js"
import { encode } from "../protocol/index.js"
import { EARLIEST, type NewUpdate, type PreparedUpdate, prepareUpdate, type StoredUpdate } from "./update.js"

/** The name of the hub's log when none is given. */
export const DEFAULT_HUB_LOG = "mercure"

/**
 * The hub's updates on one engine log. An update is stored as one entry: its Mercure id as the
 * entry's key (so a `Last-Event-ID` is looked up by the engine, on any node), its other fields
 * as a compact JSON array. The engine never interprets them; each node decodes an entry and
 * builds its SSE frame once, whatever the number of subscribers.
 */
export interface UpdateLog {
  readonly engine: Engine
  /** The log's name in the engine. */
  readonly name: string
  /** Stores updates atomically, in order; resolves once stored (durable on durable engines). */
  append(updates: readonly NewUpdate[]): Promise<readonly StoredUpdate[]>
  /** The update an entry of this log holds, decoded and framed once per entry object. */
  decode(entry: Entry): StoredUpdate
  /**
   * Where a resume from a Mercure cursor reads after: `START` for `earliest`, the position of
   * the oldest held update with that id, or `undefined` when the hub holds no such update.
   */
  locate(cursor: string): Promise<Position | undefined>
  /** The newest update held (appended on any node), or `undefined` when the log holds none. */
  newest(): Promise<UpdateMark | undefined>
  /** Up to `limit` of the newest updates held (appended on any node), newest first. */
  recent(limit: number): Promise<readonly StoredUpdate[]>
}

/** An update of the hub's log, by its Mercure id and its position: where the log stood. */
export interface UpdateMark {
  readonly id: string
  readonly position: Position
}

/** Field order of an entry's JSON array: topics, data, private (0/1), type, retry. */
type EncodedUpdate = [
  topics: string[],
  data: string,
  isPrivate: 0 | 1,
  type: string | null,
  retry: number | null,
]

/** Opens the hub's log `name` on `engine`; the log is created by the first append if missing. */
export function openUpdateLog(engine: Engine, name: string = DEFAULT_HUB_LOG): UpdateLog {
  const decoded = new WeakMap<Entry, StoredUpdate>()
  const remember = (entry: Entry, update: PreparedUpdate): StoredUpdate => {
    const stored: StoredUpdate = { position: entry.position, time: entry.time, ...update }
    decoded.set(entry, stored)
    return stored
  }
  /** Up to `limit` of the newest entries held, oldest first. */
  const newestEntries = async (limit: number): Promise<readonly Entry[]> => {
    const head = await engine.head(name)
    const tail = head === undefined ? undefined : parsePosition(head.tail)
    const floor = head === undefined ? undefined : parsePosition(head.floor)
    if (tail === undefined || floor === undefined || limit < 1) return []
    const after = Math.max(floor.seq, tail.seq - limit)
    if (after >= tail.seq) return []
    // Not held when retention trimmed past `after` meanwhile: nothing this time.
    const read = await engine.read(name, formatPosition(tail.epoch, after), limit)
    return read.held ? read.entries : []
  }
  return {
    engine,
    name,
    async append(updates) {
      // Every update is checked and framed before any is stored: a batch is all or nothing.
      const prepared = updates.map(prepareUpdate)
      if (prepared.length === 0) return []
      const result = await engine.append(name, prepared.map(toUpdateEntry), { create: {} })
      if (result.status !== "appended") {
        throw new Error(`The hub's log "${name}" refused an append: ${result.status}.`)
      }
      // The same entry objects reach this node's live feed: its subscribers find them decoded.
      return result.entries.map((entry, i) => remember(entry, prepared[i] as PreparedUpdate))
    },
    decode(entry) {
      return decoded.get(entry) ?? remember(entry, decodeFields(entry))
    },
    async locate(cursor) {
      if (cursor === EARLIEST) return START
      return await engine.locate(name, cursor)
    },
    async newest() {
      const [entry] = await newestEntries(1)
      return entry === undefined ? undefined : { id: updateId(entry), position: entry.position }
    },
    async recent(limit) {
      return (await newestEntries(limit)).map((entry) => this.decode(entry)).reverse()
    },
  }
}

/**
 * The entry holding an update with these fields: what the hub appends, and how `herald serve`
 * migrates a Herald 0.1.0 database's updates into the hub's log.
 */
export function toUpdateEntry(
  update: Pick<StoredUpdate, "id" | "topics" | "data" | "private"> & { type?: string; retry?: number },
): NewEntry {
  const fields: EncodedUpdate = [
    [...update.topics],
    update.data,
    update.private ? 1 : 0,
    update.type ?? null,
    update.retry ?? null,
  ]
  return { key: update.id, data: JSON.stringify(fields) }
}

/** Rebuilds an update from another node's (or an earlier run's) entry. */
function decodeFields(entry: Entry): PreparedUpdate {
  const [topics, data, isPrivate, type, retry] = JSON.parse(entry.data) as EncodedUpdate
  const id = updateId(entry)
  return {
    id,
    topics: Object.freeze(topics),
    data,
    private: isPrivate === 1,
    type: type ?? undefined,
    retry: retry ?? undefined,
    frame: encode({ id, event: type ?? undefined, retry: retry ?? undefined, data }),
  }
}

/** The Mercure id of the update an entry holds: its key, else its position. */
function updateId(entry: Entry): string {
  return entry.key ?? entry.position
}
