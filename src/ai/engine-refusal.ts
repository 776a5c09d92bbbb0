import type { ServerResponse } from "node:http"
import type { Engine } from "../engine/engine.js"
import { StorageFullError } from "../engine/storage-full.js"
import { TooManyLogsError } from "../engine/too-many-logs.js"
import { EngineUnavailableError } from "../engine/unavailable.js"
import { type Logger, repeatedWarning } from "../logger.js"
import { sendFormatError } from "./responses.js"
import type { WireFormat } from "./wire-format.js"

/** What a 503 for an unreachable store asks a client to wait, in seconds. */
const UNAVAILABLE_RETRY_SECONDS = 1

/** Why the engine refused an AI request, as the metrics label it. */
export type EngineRefusalReason = "engine_unavailable" | "engine_max_logs" | "engine_full"

/** Answers an engine's refusal of an AI request: see {@link engineRefusals}. */
export type SendEngineRefusal = (
  response: ServerResponse,
  format: WireFormat,
  error: unknown,
  path: string,
) => boolean

/**
 * Answers an engine's refusal in the endpoint's error shape, as the hub and the streams answer
 * it; `false` for anything else, which the caller rethrows. Its warnings, which every request
 * repeats while the cause lasts, are a line now and one with a count every 30 s.
 *
 * - The engine cannot reach its store (Redis down, failing over): a 503 with `Retry-After`,
 *   since the same request may succeed in a moment.
 * - The engine holds its maximum of logs (shared with the hub and the streams): a 503 without,
 *   since it lasts until logs are deleted or expire.
 * - The engine's storage is full (a disk, Redis's maxmemory, the memory engine's maxBytes): a 507, which lasts until room is
 *   made. Not logged here: the engine says it.
 *
 * Each refusal is also told to `counted` by its reason (`engine_unavailable`, `engine_max_logs`,
 * `engine_full`): the metrics count what the log only samples.
 */
export function engineRefusals(
  engine: Engine,
  logger: Logger,
  counted: (reason: EngineRefusalReason) => void,
): SendEngineRefusal {
  const unavailable = repeatedWarning(logger, {
    once: "the AI endpoints' engine is unavailable",
    more: (count, seconds) =>
      `the AI endpoints' engine is unavailable: ${count} more requests refused in the last ${seconds} s`,
  })
  const full = repeatedWarning(logger, {
    once: "the AI endpoints' engine holds its maximum of logs",
    more: (count, seconds) =>
      `the AI endpoints' engine holds its maximum of logs: ${count} more requests refused in the last ${seconds} s`,
  })
  return (response, format, error, path) => {
    if (error instanceof EngineUnavailableError) {
      counted("engine_unavailable")
      unavailable({ err: error, path })
      sendFormatError(
        response,
        format,
        503,
        `The AI endpoints' ${engine.name} engine is unavailable (${error.message}). Retry in ${UNAVAILABLE_RETRY_SECONDS} s; a generation may have started, so retry a create with the same Idempotency-Key to be safe from a second one.`,
        {},
        { "retry-after": String(UNAVAILABLE_RETRY_SECONDS) },
      )
      return true
    }
    if (error instanceof TooManyLogsError) {
      counted("engine_max_logs")
      full({ err: error, path })
      sendFormatError(
        response,
        format,
        503,
        `The AI endpoints' ${engine.name} engine holds its maximum of ${error.maxLogs} logs, shared with the hub and the streams, so no generation was started. An operator can free logs (delete streams) or raise the engine's maxLogs.`,
      )
      return true
    }
    if (error instanceof StorageFullError) {
      counted("engine_full")
      sendFormatError(
        response,
        format,
        507,
        `The AI endpoints' ${error.engine} engine has no room: ${error.store} is full, so nothing was stored. An operator can ${error.remedy}, or have the hub keep fewer updates (herald serve's --retention-max-events and --retention-max-age).`,
      )
      return true
    }
    return false
  }
}
