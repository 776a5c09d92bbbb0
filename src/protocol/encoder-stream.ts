import { encode } from "./encode.js"
import type { EventFields } from "./types.js"

/**
 * A `TransformStream` from event objects to UTF-8 `text/event-stream` bytes, shaped like
 * `TextEncoderStream`. An invalid event (see {@link encode}) errors the stream.
 *
 * @example
 * ```ts
 * const body = ReadableStream.from(tokens).pipeThrough(new SSEEncoderStream())
 * return new Response(body, { headers: { "content-type": "text/event-stream" } })
 * ```
 */
export class SSEEncoderStream extends TransformStream<EventFields, Uint8Array> {
  constructor() {
    const encoder = new TextEncoder()
    super({
      transform(fields, controller) {
        controller.enqueue(encoder.encode(encode(fields)))
      },
    })
  }
}
