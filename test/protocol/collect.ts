// Test helper: runs the real parser over chunks and records everything it reports.
import { createParser, type ParserOptions } from "../../src/protocol/index.js"
import type { ReferenceResult } from "./reference-parser.js"

/** Feeds the chunks in order, ends the stream, and returns what the parser reported. */
export function collect(chunks: Array<string | Uint8Array>, options?: ParserOptions): ReferenceResult {
  return collectStreams([chunks], options)
}

/** Feeds several streams to one parser, ending each (a reconnection), and returns what it reported. */
export function collectStreams(
  streams: Array<Array<string | Uint8Array>>,
  options?: ParserOptions,
): ReferenceResult {
  const result: ReferenceResult = { events: [], retries: [], comments: [], lastEventId: "" }
  const parser = createParser(
    {
      onEvent: (event) => result.events.push(event),
      onRetry: (ms) => result.retries.push(ms),
      onComment: (text) => result.comments.push(text),
    },
    options,
  )
  for (const chunks of streams) {
    for (const chunk of chunks) parser.feed(chunk)
    parser.end()
  }
  result.lastEventId = parser.lastEventId
  return result
}

/** The data of each event, the usual thing a case checks. */
export function dataOf(chunks: Array<string | Uint8Array>): string[] {
  return collect(chunks).events.map((event) => event.data)
}
