import type { ServerResponse } from "node:http"
import { RequestFieldError } from "./request-field-error.js"
import { sendFormatError } from "./responses.js"
import type { UpstreamRequestError } from "./upstream-error.js"
import {
  keyRefused,
  upstreamErrorCode,
  upstreamErrorMessage,
  upstreamRefusalStatus,
} from "./upstream-message.js"
import type { WireFormat } from "./wire-format.js"

/**
 * Answers a generation's refusal before its first entry in `format`'s error shape: a request
 * field the upstream's format cannot express is a 400 naming it; an upstream's refusal has the
 * status, message and `retry-after`/rate-limit headers of `upstreamRefusalStatus` and
 * `upstreamErrorMessage` (a refused key a 502 with `x-should-retry: false`). The one mapping
 * for a streaming head and a whole answer alike, whenever the refusal came.
 *
 * @param model - The configured model's name, which the message names.
 * @param clientFormat - Whether the upstream speaks the client's format, so its error codes are ones the client knows.
 */
export function sendRefusal(
  response: ServerResponse,
  format: WireFormat,
  error: UpstreamRequestError | RequestFieldError,
  model: string,
  clientFormat: boolean,
  headers: Readonly<Record<string, string>>,
): void {
  if (error instanceof RequestFieldError) {
    sendFormatError(response, format, 400, error.message, { param: error.field }, headers)
    return
  }
  const key = keyRefused(error)
  // A refused key is the operator's, whatever code came with it.
  const details = clientFormat && !key ? upstreamErrorCode(error) : {}
  sendFormatError(
    response,
    format,
    upstreamRefusalStatus(error),
    upstreamErrorMessage(error, model),
    details,
    {
      ...error.headers,
      // The SDKs retry a 5xx twice; a refused key is refused again (openai-node and the Anthropic SDK read this first).
      ...(key ? { "x-should-retry": "false" } : {}),
      ...headers,
    },
  )
}
