import type { ServerResponse } from "node:http"
import type { AIContext } from "./ai-context.js"
import { foldAnswer } from "./answer.js"
import { collectGeneration } from "./collect-generation.js"
import { sendFormatError, sendJson } from "./responses.js"
import { sendRefusal } from "./send-refusal.js"
import { END_ERROR_TYPE, type EndEntry } from "./stored-entry.js"
import { UpstreamRequestError } from "./upstream-error.js"
import type { ViewContext } from "./view.js"
import type { WireFormat } from "./wire-format.js"

/**
 * A non-streaming response: the whole answer in `format` once the generation (log `log`) ended,
 * or its failure in `format`'s error shape (an upstream error 502, a cancel 409, an
 * interruption 503, the upstream's refusal as `sendRefusal` answers it). Nothing is sent if the
 * client leaves first.
 */
export async function sendWholeAnswer(
  context: AIContext,
  format: WireFormat,
  response: ServerResponse,
  log: string,
  view: ViewContext,
  headers: Readonly<Record<string, string>>,
): Promise<void> {
  // A client gone already (while the first answer was awaited) would never be heard leaving.
  if (response.destroyed) return
  const closed = new AbortController()
  response.once("close", () => closed.abort(new Error("the client left")))
  let entries: Awaited<ReturnType<typeof collectGeneration>>
  try {
    entries = await collectGeneration(context.engine, log, closed.signal)
  } catch (error) {
    if (closed.signal.aborted) return
    throw error
  }
  const answer = foldAnswer(entries)
  const end = answer.end
  if (end?.status === "done" && answer.error === undefined) {
    sendJson(response, 200, format.answer(answer, view), headers)
    return
  }
  const refused = end?.error
  if (refused?.status !== undefined) {
    // An upstream's refusal read back from the log (an Idempotency-Key replay), mapped as the
    // request that met it mapped it; only its status and message are stored (the message as what
    // the upstream said), not the upstream's body, code and headers.
    const error = new UpstreamRequestError(refused.message, {
      status: refused.status,
      body: { error: { message: refused.message } },
    })
    sendRefusal(response, format, error, view.meta.model, false, headers)
    return
  }
  const { status, message, ...details } = endFailure(end, answer.error)
  sendFormatError(response, format, status, message, details, headers)
}

/**
 * The status and error of a generation that did not finish: what a non-streaming client gets,
 * with the upstream's error type and code as a streaming client gets them.
 */
function endFailure(
  end: EndEntry | undefined,
  error: { message: string; errorType?: string; code?: string } | undefined,
): { status: number; message: string; type?: string; code?: string } {
  if (error !== undefined)
    return {
      status: 502,
      message: error.message,
      ...(error.errorType === undefined ? {} : { type: error.errorType }),
      ...(error.code === undefined ? {} : { code: error.code }),
    }
  const message = end?.error?.message ?? "the generation ended without an answer"
  switch (end?.status) {
    case "cancelled":
      return { status: 409, message, type: END_ERROR_TYPE.cancelled }
    case "interrupted":
      return { status: 503, message, type: END_ERROR_TYPE.interrupted }
    default:
      return { status: 502, message }
  }
}
