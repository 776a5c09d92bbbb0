import pino, { type Logger } from "pino"

/** pino's numeric levels, as the terminal shows them. */
const LEVELS: Readonly<Record<number, { name: string; color: string }>> = {
  10: { name: "TRACE", color: "\x1b[90m" },
  20: { name: "DEBUG", color: "\x1b[36m" },
  30: { name: "INFO ", color: "\x1b[32m" },
  40: { name: "WARN ", color: "\x1b[33m" },
  50: { name: "ERROR", color: "\x1b[31m" },
  60: { name: "FATAL", color: "\x1b[35m" },
}

/** Fields every pino line has, left out of the terminal's `key=value` tail. */
const BASE_FIELDS = new Set(["level", "time", "msg", "pid", "hostname"])

/**
 * The process's logger: pino's JSON lines, or — when `stream` is a terminal — one readable line
 * per entry (`12:00:01 INFO  listening on … key=value`). Written here rather than with
 * pino-pretty so that the CLI needs no extra dependency and pino's worker thread is not used.
 */
export function createLogger(
  level: string,
  stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
): Logger {
  const options = { level, base: { pid: process.pid } }
  if (!stream.isTTY) return pino(options, stream)
  return pino(options, { write: (line: string) => stream.write(formatLine(line)) })
}

/** One pino JSON line as a terminal line. Lines that are not JSON objects pass through as they are. */
export function formatLine(line: string): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line
  }
  const level = LEVELS[Number(entry.level)] ?? { name: String(entry.level), color: "" }
  const time = new Date(Number(entry.time)).toTimeString().slice(0, 8)
  const fields = Object.entries(entry)
    .filter(([key]) => !BASE_FIELDS.has(key))
    .map(([key, value]) => {
      if (key === "err" && typeof value === "object" && value !== null && "stack" in value) {
        return `\n${String(value.stack)}`
      }
      return ` \x1b[90m${key}=\x1b[0m${typeof value === "string" ? value : JSON.stringify(value)}`
    })
    .join("")
  return `\x1b[90m${time}\x1b[0m ${level.color}${level.name}\x1b[0m ${String(entry.msg ?? "")}${fields}\n`
}
