import { createParser } from "./parse.js"
import type { ParserHandlers, ParserOptions, ServerSentEvent } from "./types.js"

/** Options for {@link SSEDecoderStream}: the parser's options plus its optional callbacks. */
export interface SSEDecoderStreamOptions extends ParserOptions, Omit<ParserHandlers, "onEvent"> {}

/**
 * A `TransformStream` from `text/event-stream` bytes (or strings) to {@link ServerSentEvent}s,
 * shaped like `TextDecoderStream`. A {@link ParseError} errors the stream.
 *
 * @example
 * ```ts
 * const response = await fetch(url)
 * for await (const event of response.body!.pipeThrough(new SSEDecoderStream())) {
 *   console.log(event.type, event.data)
 * }
 * ```
 */
export class SSEDecoderStream extends TransformStream<string | Uint8Array, ServerSentEvent> {
  constructor(options: SSEDecoderStreamOptions = {}) {
    const { onRetry, onComment, ...parserOptions } = options
    let parser: ReturnType<typeof createParser> | undefined
    super({
      start(controller) {
        parser = createParser(
          { onEvent: (event) => controller.enqueue(event), onRetry, onComment },
          parserOptions,
        )
      },
      transform(chunk) {
        parser?.feed(chunk)
      },
      flush() {
        parser?.end()
      },
    })
  }
}
