// A deliberately naive reading of the WHATWG "Interpreting an event stream" algorithm, written for
// clarity over speed: the oracle that the fast parser is checked against on random inputs.
import type { ServerSentEvent } from "../../src/protocol/index.js"

export interface ReferenceResult {
  events: ServerSentEvent[]
  retries: number[]
  comments: string[]
  lastEventId: string
}

/** Parses a whole stream (already decoded) at once. An unterminated final block is discarded. */
export function referenceParse(stream: string, initialLastEventId = ""): ReferenceResult {
  const text = stream.startsWith("\uFEFF") ? stream.slice(1) : stream
  const lines = text.split(/\r\n|\r|\n/)
  // The piece after the last line end is not a line: it never completes.
  lines.pop()
  const result: ReferenceResult = { events: [], retries: [], comments: [], lastEventId: initialLastEventId }
  let data = ""
  let type = ""
  let idBuffer = initialLastEventId
  for (const line of lines) {
    if (line === "") {
      result.lastEventId = idBuffer
      if (data === "") {
        type = ""
        continue
      }
      result.events.push({ type: type || "message", data: data.slice(0, -1), lastEventId: idBuffer })
      data = ""
      type = ""
      continue
    }
    if (line.startsWith(":")) {
      result.comments.push(line.slice(line.startsWith(": ") ? 2 : 1))
      continue
    }
    const colon = line.indexOf(":")
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? "" : line.slice(colon + 1)
    if (value.startsWith(" ")) value = value.slice(1)
    if (field === "event") type = value
    else if (field === "data") data += `${value}\n`
    else if (field === "id" && !value.includes("\0")) idBuffer = value
    // Herald's documented choice: a retry past the largest safe integer is reported as that integer.
    else if (field === "retry" && /^[0-9]+$/.test(value))
      result.retries.push(Math.min(Number(value), Number.MAX_SAFE_INTEGER))
  }
  return result
}
