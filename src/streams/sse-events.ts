/**
 * The events of an SSE read (protocol section 5.8): a `data` event carrying appends, then the
 * `control` event that every data event is followed by. Frames are bytes: a JSON stream's text
 * is sent as UTF-8; a text stream's data is stored as latin1 bytes already (content.ts), and a
 * binary one's is sent as base64.
 */

import type { Entry } from "../engine/engine.js"
import { exposedOffset, type Stream } from "./stream.js"

/** What a `control` event says. */
export interface Control {
  /** The offset to resume after (`streamNextOffset`). */
  readonly next: string
  /** `streamCursor`; left out of the final event of a closed stream (`closed`), which is up to date. */
  readonly cursor: string
  readonly upToDate: boolean
  readonly closed: boolean
}

/** How a stream's data travels in SSE: its mode, and base64 for streams that are not text or JSON. */
export interface SseEncoding {
  readonly json: boolean
  readonly base64: boolean
}

/** The frame of a `data` event with `chunks` (appends' data, none for a control alone), then its `control` event. */
export function eventsFrame(encoding: SseEncoding, chunks: readonly string[], control: Control): Buffer {
  const text = (chunks.length > 0 ? dataEvent(encoding, chunks) : "") + controlEvent(control)
  return Buffer.from(text, encoding.json ? "utf8" : "latin1")
}

/** A `data` event (as text in the frame's encoding). */
function dataEvent(encoding: SseEncoding, chunks: readonly string[]): string {
  if (encoding.base64)
    return `event: data\ndata:${Buffer.from(chunks.join(""), "latin1").toString("base64")}\n\n`
  // JSON entries never hold a line break (content.ts), so the array is one data line.
  if (encoding.json) return `event: data\ndata:[${chunks.join(",")}]\n\n`
  // Each line of text is a data line (a CR, LF or CRLF cannot end the event), and a line that
  // starts with a space gets one more (parsers strip one).
  let event = "event: data\n"
  for (const line of chunks.join("").split(/\r\n|\r|\n/)) {
    event += line.startsWith(" ") ? `data: ${line}\n` : `data:${line}\n`
  }
  return `${event}\n`
}

function controlEvent(control: Control): string {
  const fields: Record<string, unknown> = { streamNextOffset: control.next }
  if (!control.closed) fields.streamCursor = control.cursor
  // Said with the close too: a client hands a control event without data on only when it says
  // "up to date" (@durable-streams/client), and a closed stream's end is its reader's.
  if (control.upToDate || control.closed) fields.upToDate = true
  if (control.closed) fields.streamClosed = true
  return `event: control\ndata:${JSON.stringify(fields)}\n\n`
}

/**
 * The frame of the entries a node's live feed delivered last, shared by the SSE readers of their
 * stream: the feed hands a batch to every follower of its log before the next batch, so one slot
 * lets all of them write one frame built once, and holds nothing past the next batch. A reader
 * whose cursor differs (a CDN cursor collision) gets a frame of its own.
 */
export class LiveFrames {
  #key: object | undefined
  #cursor = ""
  #frame: Buffer = Buffer.alloc(0)

  /**
   * The frame of `entries` (one entry, or a batch appended together) of `stream`, read live:
   * one data event, then a control event saying the reader is up to date after them.
   */
  frameOf(stream: Stream, encoding: SseEncoding, entries: Entry | readonly Entry[], cursor: string): Buffer {
    if (this.#key === entries && this.#cursor === cursor) return this.#frame
    const batch: readonly Entry[] = Array.isArray(entries) ? entries : [entries as Entry]
    const next = exposedOffset(stream, (batch[batch.length - 1] as Entry).position)
    const chunks = batch.map((entry) => entry.data)
    const frame = eventsFrame(encoding, chunks, { next, cursor, upToDate: true, closed: false })
    // The first reader's cursor is everyone's but a collided reader's: that one does not evict it.
    if (this.#key !== entries) {
      this.#key = entries
      this.#cursor = cursor
      this.#frame = frame
    }
    return frame
  }
}
