import type { Engine } from "../engine/engine.js"
import { parsePosition } from "../engine/position.js"
import { logOf, STREAM_LOG_PREFIX, streamOf } from "./stream.js"

/** The streams a handler serves, as an operator's dashboard shows them. */
export interface StreamsOverview {
  /** The path prefix of the handler's streams. */
  readonly prefix: string
  /** Streams held (on every node), counted up to the bound given. */
  readonly count: number
  /** There are more than {@link count}: the count stopped at its bound. */
  readonly more: boolean
  /** The most recently created streams, newest first. */
  readonly newest: readonly StreamSummary[]
}

/** One stream, in brief. */
export interface StreamSummary {
  /** Its URL path. */
  readonly path: string
  readonly contentType: string
  /** When it was created, in ms since the Unix epoch. */
  readonly createdAt: number
  readonly closed: boolean
  /** Messages appended to its own log (a fork's inherited ones not counted). */
  readonly messages: number
}

/** Logs listed per engine call. */
const PAGE = 500

/**
 * Walks the streams under `prefix`, at most `maxCount` of them (a bounded cost, however many
 * there are), and keeps the `newest` most recently created. Soft-deleted streams are not counted.
 */
export async function streamsOverview(
  engine: Engine,
  prefix: string,
  bounds: { readonly maxCount: number; readonly newest: number },
): Promise<StreamsOverview> {
  const logPrefix = logOf(prefix)
  let count = 0
  let newest: StreamSummary[] = []
  let after: string | undefined
  while (count < bounds.maxCount) {
    const page = await engine.list({
      prefix: logPrefix,
      limit: Math.min(PAGE, bounds.maxCount - count),
      ...(after === undefined ? {} : { after }),
    })
    for (const head of page.logs) {
      const stream = streamOf(head.name.slice(STREAM_LOG_PREFIX.length), head.name, head)
      if (stream.softDeleted) continue
      count++
      newest.push({
        path: stream.path,
        contentType: stream.contentType,
        createdAt: head.createdAt,
        closed: head.closed,
        messages: parsePosition(head.tail)?.seq ?? 0,
      })
    }
    newest = newest.sort((a, b) => b.createdAt - a.createdAt).slice(0, bounds.newest)
    if (page.next === undefined) return { prefix, count, more: false, newest }
    after = page.next
  }
  return { prefix, count, more: true, newest }
}
