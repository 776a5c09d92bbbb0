import { readFileSync } from "node:fs"

/**
 * The most files (sockets included) this process may open: the soft `ulimit -n`, read from
 * /proc on Linux; undefined elsewhere (Node has no portable getrlimit), where the OS will say
 * EMFILE itself.
 */
export function openFileLimit(): number | undefined {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8")
    const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1]
    return soft === undefined || soft === "unlimited" ? undefined : Number(soft)
  } catch {
    return undefined
  }
}
