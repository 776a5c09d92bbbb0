/**
 * A request field that the target format cannot express (Anthropic has no `response_format`, an
 * assistant's tool arguments that are not JSON…). An endpoint answers it with a 400 naming
 * `field`, rather than dropping what the client asked for.
 */
export class UntranslatableFieldError extends Error {
  override readonly name = "UntranslatableFieldError"
  constructor(
    /** The field as the client wrote it, e.g. `response_format` or `messages[2].tool_calls[0].function.arguments`. */
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`)
  }
}
