import { EventSource } from "./event-source.js"
import type { EventSourceInit } from "./types.js"

/**
 * Streams the events of `url` as an async generator: every message event, whatever its type,
 * across reconnections. It returns when the source closes (the `signal`, or the stream's end with
 * `reconnect: false`), throws the `EventSourceError` when it fails, and closes the connection
 * when the loop is left early.
 *
 * @example
 * ```ts
 * for await (const event of events("/chat", { method: "POST", body, reconnect: false })) {
 *   if (event.type === "token") output += event.data
 * }
 * ```
 */
export async function* events(
  url: string | URL,
  init?: EventSourceInit,
): AsyncGenerator<MessageEvent<string>, void, undefined> {
  const source = new EventSource(url, init)
  try {
    yield* source
  } finally {
    source.close()
  }
}
