/** How `herald listen` prints. */
export interface FormatOptions {
  /** One JSON object a line (`{time, id, type, data}`), for scripts. */
  readonly json: boolean
  /** ANSI colours (when stdout is a terminal). */
  readonly color: boolean
}

/**
 * One received update as `herald listen` prints it: a header line (time, id, type) and the data,
 * pretty-printed when it is JSON; or, with `json`, one JSON object a line.
 */
export function formatEvent(
  event: { readonly type: string; readonly data: string; readonly lastEventId: string },
  options: FormatOptions,
  now: Date = new Date(),
): string {
  if (options.json) {
    return `${JSON.stringify({ time: now.toISOString(), id: event.lastEventId, type: event.type, data: event.data })}\n`
  }
  const dim = (text: string) => (options.color ? `\x1b[90m${text}\x1b[0m` : text)
  const bold = (text: string) => (options.color ? `\x1b[1m${text}\x1b[0m` : text)
  const header = [
    dim(now.toTimeString().slice(0, 8)),
    event.lastEventId === "" ? "" : `${dim("id")} ${event.lastEventId}`,
    event.type === "message" ? "" : `${dim("type")} ${bold(event.type)}`,
  ]
    .filter((part) => part !== "")
    .join("  ")
  return `${header}\n${prettyData(event.data)}\n\n`
}

/** JSON objects and arrays indented; anything else as it came. */
function prettyData(data: string): string {
  const trimmed = data.trim()
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return data
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2)
  } catch {
    return data
  }
}
