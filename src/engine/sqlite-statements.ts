import type { Database, Statement } from "./sqlite-driver.js"

// The sqlite engine's statements (schema: sqlite-schema.ts). Rows are read raw (arrays of column
// values, in the order selected): much cheaper than objects on the read path.

/** A `logs` row as selected, raw. */
export type LogRow = [
  id: number,
  name: string,
  epoch: string,
  tail: number,
  floor: number,
  closed: number,
  stop: number,
  writerSeq: string | null,
  config: string,
  createdAt: number,
  expiresAt: number | null,
  owner: string | null,
]

const LOG_COLUMNS =
  "id, name, epoch, tail, floor, closed, stop, writer_seq, config, created_at, expires_at, owner"

/** A row of `entries` as `entriesAfter` selects it, raw. */
export type EntryRow = [seq: number, data: string, key: string | null, time: number]

/** Every statement of the engine, prepared once per connection. */
export function prepareStatements(db: Database) {
  const raw = (sql: string): Statement => db.prepare(sql).raw(true)
  return {
    logByName: raw(`SELECT ${LOG_COLUMNS} FROM logs WHERE name = ?`),
    listFrom: raw(`SELECT ${LOG_COLUMNS} FROM logs WHERE name >= ? ORDER BY name LIMIT ?`),
    listAfter: raw(`SELECT ${LOG_COLUMNS} FROM logs WHERE name > ? ORDER BY name LIMIT ?`),
    logsAfterId: raw(`SELECT ${LOG_COLUMNS} FROM logs WHERE id > ? ORDER BY id LIMIT ?`),
    expiring: raw("SELECT name FROM logs WHERE expires_at <= ? ORDER BY expires_at LIMIT ?"),
    insertLog: db.prepare(
      "INSERT INTO logs (name, epoch, tail, floor, closed, stop, owner, config, created_at, expires_at, ttl) VALUES (?, ?, 0, 0, 0, 0, ?, ?, ?, ?, ?)",
    ),
    updateLog: db.prepare(
      "UPDATE logs SET tail = ?, closed = ?, writer_seq = ?, expires_at = ? WHERE id = ?",
    ),
    setOwner: db.prepare("UPDATE logs SET owner = ? WHERE id = ?"),
    setStop: db.prepare("UPDATE logs SET stop = 1 WHERE id = ?"),
    setFloor: db.prepare("UPDATE logs SET floor = ? WHERE id = ?"),
    setExpiry: db.prepare("UPDATE logs SET expires_at = ? WHERE id = ?"),
    deleteLog: db.prepare("DELETE FROM logs WHERE id = ?"),
    insertEntry: db.prepare("INSERT INTO entries (log, seq, data, key, time) VALUES (?, ?, ?, ?, ?)"),
    entriesAfter: raw(
      "SELECT seq, data, key, time FROM entries WHERE log = ? AND seq > ? ORDER BY seq LIMIT ?",
    ),
    locate: raw("SELECT seq FROM entries WHERE log = ? AND key = ? AND seq > ? ORDER BY seq LIMIT 1"),
    firstFresh: raw(
      "SELECT seq, time FROM entries WHERE log = ? AND seq > ? AND time >= ? ORDER BY seq LIMIT 1",
    ),
    oldestEntry: raw("SELECT min(seq) FROM entries WHERE log = ?"),
    deleteEntriesThrough: db.prepare("DELETE FROM entries WHERE log = ? AND seq <= ?"),
    deleteEntriesBelow: db.prepare("DELETE FROM entries WHERE log = ? AND seq < ?"),
    producer: db.prepare("SELECT epoch, seq FROM producers WHERE log = ? AND id = ?"),
    putProducer: db.prepare(
      "INSERT INTO producers (log, id, epoch, seq) VALUES (?, ?, ?, ?) ON CONFLICT (log, id) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq",
    ),
    deleteProducers: db.prepare("DELETE FROM producers WHERE log = ?"),
    insertDropped: db.prepare("INSERT INTO dropped (log) VALUES (?)"),
    firstDropped: raw("SELECT log FROM dropped LIMIT 1"),
    deleteDropped: db.prepare("DELETE FROM dropped WHERE log = ?"),
    lease: raw("SELECT expires FROM leases WHERE node = ?"),
    putLease: db.prepare(
      "INSERT INTO leases (node, expires) VALUES (?, ?) ON CONFLICT (node) DO UPDATE SET expires = excluded.expires",
    ),
    deleteLease: db.prepare("DELETE FROM leases WHERE node = ?"),
    liveNodes: raw("SELECT node FROM leases WHERE expires > ? ORDER BY node"),
    deleteStaleLeases: db.prepare("DELETE FROM leases WHERE expires <= ?"),
  }
}
