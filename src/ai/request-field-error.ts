/**
 * A request field that is invalid, or that the target format cannot express (Anthropic has no
 * `response_format`, OpenAI no `top_k`…). An endpoint answers it with a 400 naming `field`,
 * rather than dropping what the client asked for.
 */
export class RequestFieldError extends Error {
  override readonly name = "RequestFieldError"
  constructor(
    /** The field as the client wrote it, e.g. `response_format` or `messages[2].content[0].type`. */
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`)
  }
}
