/** Why parsing stopped. */
export type ParseErrorCode = "event-too-large"

/** Thrown by the parser when the stream breaks one of its bounds. */
export class ParseError extends Error {
  override readonly name = "ParseError"
  constructor(
    readonly code: ParseErrorCode,
    message: string,
  ) {
    super(message)
  }
}
