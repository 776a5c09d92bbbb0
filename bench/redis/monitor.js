// Counts the commands Redis runs, from its MONITOR feed: each line names who sent the command
// (a client's address, or `lua` for a command a script ran), so the commands a node sends —
// its round trips — are told apart from the work its scripts do inside Redis.
import { once } from "node:events"
import { connect } from "node:net"

const LINE = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]*)"/

/**
 * Opens a MONITOR connection to the Redis at `port`. `between(from, to)` counts the commands of
 * the lines after the marker `from` and before the marker `to` (markers: `mark()`), per
 * `client`/`lua` and command name, leaving out `exclude` (the bench's own connection's address).
 */
export async function openMonitor(port, exclude) {
  const socket = connect(port, "127.0.0.1")
  await once(socket, "connect")
  socket.write("MONITOR\r\n")
  /** Every command since MONITOR answered: [source, command]. */
  const seen = []
  const waiters = new Map()
  let carry = ""
  let ok
  const answered = new Promise((resolve) => {
    ok = resolve
  })
  socket.setEncoding("utf8")
  socket.on("data", (chunk) => {
    const lines = (carry + chunk).split("\r\n")
    carry = lines.pop()
    for (const line of lines) {
      if (line === "+OK") {
        ok()
        continue
      }
      const match = LINE.exec(line)
      if (match === null) continue
      const [, source, command] = match
      seen.push([source, command])
      for (const [marker, resolve] of waiters) {
        if (line.includes(`"${marker}"`)) {
          waiters.delete(marker)
          resolve(seen.length - 1)
        }
      }
    }
  })
  await answered
  let marks = 0
  return {
    /** Sends a marker through `client` (an ioredis connection); resolves with its place in the feed. */
    async mark(client) {
      const marker = `herald-bench-mark-${++marks}`
      const placed = new Promise((resolve) => waiters.set(marker, resolve))
      await client.echo(marker)
      return await placed
    },
    between(from, to) {
      const counts = new Map()
      for (const [source, command] of seen.slice(from + 1, to)) {
        if (source === exclude) continue
        const key = `${source === "lua" ? "lua" : "client"} ${command.toUpperCase()}`
        counts.set(key, (counts.get(key) ?? 0) + 1)
      }
      return counts
    },
    close: () => socket.destroy(),
  }
}
