/**
 * `herald/protocol`: the `text/event-stream` format — a streaming parser, an encoder, and Web
 * stream transforms around both. Zero dependencies, no Node built-ins: it runs in browsers,
 * workers and Node alike.
 *
 * @packageDocumentation
 */

export { SSEDecoderStream, type SSEDecoderStreamOptions } from "./decoder-stream.js"
export { encode } from "./encode.js"
export { SSEEncoderStream } from "./encoder-stream.js"
export { ParseError, type ParseErrorCode } from "./errors.js"
export { createParser } from "./parse.js"
export type { EventFields, Parser, ParserHandlers, ParserOptions, ServerSentEvent } from "./types.js"
