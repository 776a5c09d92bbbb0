// Reads an SQLite WAL file directly, to count what the engine's commits wrote.
import { existsSync, readFileSync } from "node:fs"

const WAL_HEADER_BYTES = 32
const FRAME_HEADER_BYTES = 24

/**
 * How many transactions the WAL of the database at `path` holds since it last started over:
 * its commit frames (a non-zero "database size after commit") carrying the header's salts.
 */
export function walCommits(path: string): number {
  const wal = `${path}-wal`
  if (!existsSync(wal)) return 0
  const bytes = readFileSync(wal)
  if (bytes.length < WAL_HEADER_BYTES) return 0
  const pageSize = bytes.readUInt32BE(8)
  const salts = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)]
  let commits = 0
  for (
    let at = WAL_HEADER_BYTES;
    at + FRAME_HEADER_BYTES + pageSize <= bytes.length;
    at += FRAME_HEADER_BYTES + pageSize
  ) {
    const current = bytes.readUInt32BE(at + 8) === salts[0] && bytes.readUInt32BE(at + 12) === salts[1]
    if (!current) break
    if (bytes.readUInt32BE(at + 4) !== 0) commits++
  }
  return commits
}
