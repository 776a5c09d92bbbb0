type Headers = Readonly<Record<string, string>>

/**
 * A refusal the protocol defines (a status, the reason a developer can act on, and the headers
 * that go with it, such as `Stream-Closed` on a 409). Thrown by the operations and answered by
 * the handler as an RFC 9457 problem document.
 */
export class StreamsError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Headers = {},
  ) {
    super(message)
    this.name = "StreamsError"
  }
}
