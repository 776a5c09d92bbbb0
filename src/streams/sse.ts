/**
 * GET `live=sse` (protocol section 5.8): catch-up then live, each read page as one `data` event
 * and its `control` event in one write; base64 for streams that are not text or JSON; the
 * response ends after `sseLifetimeMs` (the client reconnects from its offset) or at the close.
 */

import { type ParsedPosition, parsePosition, type START } from "../engine/position.js"
import { isTextual } from "./content.js"
import type { StreamRequest, StreamsContext } from "./context.js"
import { nextCursor } from "./cursor.js"
import type { ReadStart } from "./offsets.js"
import { type RangeRead, readRange } from "./read-range.js"
import { liveStart } from "./read-reply.js"
import type { Stream } from "./stream.js"
import { watchLog } from "./wake.js"

export async function serveSse(
  context: StreamsContext,
  request: StreamRequest,
  stream: Stream,
  start: ReadStart,
): Promise<void> {
  const { response } = request
  const base64 = !isTextual(stream.contentType)
  // Watch first: an append between a read and the wait still wakes it.
  const wake = await watchLog(context.engine, stream.log)
  let gone = false
  const onClose = () => {
    gone = true
    wake.interrupt()
  }
  response.once("close", onClose)
  const lifetime = setTimeout(onClose, context.limits.sseLifetimeMs)
  let cursor = request.url.searchParams.get("cursor")
  try {
    response.writeHead(200, {
      ...request.baseHeaders,
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
      ...(base64 ? { "stream-sse-data-encoding": "base64" } : {}),
    })
    response.flushHeaders()
    let after: typeof START | ParsedPosition = liveStart(stream, start)
    let first = true
    // Bounded by the lifetime timer, which ends the loop through `gone`.
    while (!gone) {
      const read = await readRange(context.engine, stream, after, context.limits)
      if (read.chunks.length > 0 || first || read.closed) {
        cursor = read.closed ? null : nextCursor(cursor)
        const frame =
          (read.chunks.length > 0 ? dataEvent(stream, read, base64) : "") + controlEvent(read, cursor)
        if (!response.write(Buffer.from(frame, "latin1"))) await drained(response, () => gone)
      }
      first = false
      if (read.closed) break
      after = parsePosition(read.next) ?? after
      if (!read.more) await wake.next(context.limits.sseLifetimeMs)
    }
  } finally {
    clearTimeout(lifetime)
    response.off("close", onClose)
    wake.stop()
    response.end()
  }
}

/** A `data` event, as a latin1 string (one char per byte) of the UTF-8 it is sent as. */
function dataEvent(stream: Stream, read: RangeRead, base64: boolean): string {
  if (base64) return `event: data\ndata:${Buffer.from(read.chunks.join(""), "latin1").toString("base64")}\n\n`
  if (stream.json)
    return `event: data\ndata:${Buffer.from(`[${read.chunks.join(",")}]`).toString("latin1")}\n\n`
  // Text is stored as latin1 bytes already; each line of it is a data line (a CR, LF or CRLF
  // cannot end the event), and a line that starts with a space gets one more (parsers strip one).
  let event = "event: data\n"
  for (const line of read.chunks.join("").split(/\r\n|\r|\n/)) {
    event += line.startsWith(" ") ? `data: ${line}\n` : `data:${line}\n`
  }
  return `${event}\n`
}

function controlEvent(read: RangeRead, cursor: string | null): string {
  const control: Record<string, unknown> = { streamNextOffset: read.next }
  if (cursor !== null) control.streamCursor = cursor
  if (!read.more) control.upToDate = true
  if (read.closed) control.streamClosed = true
  return `event: control\ndata:${JSON.stringify(control)}\n\n`
}

function drained(response: NodeJS.WritableStream, gone: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (gone()) return resolve()
    const done = () => {
      response.off("drain", done)
      response.off("close", done)
      resolve()
    }
    response.on("drain", done)
    response.on("close", done)
  })
}
