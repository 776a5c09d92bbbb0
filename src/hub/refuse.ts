import type { ServerResponse } from "node:http"
import { AuthError } from "../auth/errors.js"
import type { HubContext } from "./context.js"
import { type HubRequestKind, withEngineRefusal } from "./engine-refusal.js"
import { sendAuthError, sendError } from "./responses.js"

/**
 * Answers a refused request — an `AuthError` with its Bearer challenge, an engine refusal (away, or at its maximum of logs: 503; its disk full: 507),
 * anything else as its HTTP error — and counts it.
 */
export function refuse(
  context: HubContext,
  response: ServerResponse,
  thrown: unknown,
  headers: Readonly<Record<string, string>> = {},
  asked: HubRequestKind = "other",
): void {
  const error = withEngineRefusal(context, thrown, asked)
  if (error instanceof AuthError) {
    context.metrics.refused(error.status)
    // The client may read less than the reason (nothing of the hub's keys before its signature
    // verified); the operator reads it all, at debug level so that a flood of bad tokens is quiet.
    if (error.reason !== error.description) {
      context.settings.logger.debug({ status: error.status, reason: error.reason }, "token refused")
    }
    sendAuthError(response, error, context.settings.metadataUrl, headers)
    return
  }
  const status = (error as { status?: unknown }).status
  context.metrics.refused(typeof status === "number" ? status : 500)
  if (typeof status !== "number") context.settings.logger.error({ err: error }, "request failed")
  sendError(response, error, headers)
}
