// The kernel's count of connections dropped because a listen queue was full (TcpExt
// ListenOverflows, all sockets of the machine): read around a load to tell whether the server's
// accept queue overflowed.
import { readFileSync } from "node:fs"

/** TcpExt ListenOverflows so far. */
export function listenOverflows() {
  const lines = readFileSync("/proc/net/netstat", "utf8").split("\n")
  const names = lines.find((line) => line.startsWith("TcpExt:"))?.split(" ")
  const values = lines.filter((line) => line.startsWith("TcpExt:"))[1]?.split(" ")
  const at = names?.indexOf("ListenOverflows") ?? -1
  return at < 0 ? Number.NaN : Number(values[at])
}
