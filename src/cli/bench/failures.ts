import { STATUS_CODES } from "node:http"
import type { Readable } from "node:stream"
import { describeError, readBodyStart } from "../doctor/observe.js"
import { describeFailure, type TokenSource } from "../http-errors.js"

/** The most of a refusal's body read for its message: a reason, not a page. */
const MAX_REFUSAL_BYTES = 4096
/** Longest wait for a refusal's body; a hub that streams an error page must not hold the run. */
const REFUSAL_BODY_TIMEOUT_MS = 2000

/** A request that failed: a short kind to group by, and the full message to show once. */
export interface Failure {
  readonly kind: string
  readonly message: string
}

/** The failure of a request that got no answer: grouped by the socket's code (ECONNRESET…). */
export function requestFailure(action: string, error: unknown): Failure {
  const message = describeError(error)
  // An abort's reason (a deadline) says more than its code.
  const code = (error as { code?: unknown }).code
  return { kind: `${action}: ${typeof code === "string" && code !== "ABORT_ERR" ? code : message}`, message }
}

/**
 * The failure of a request the hub refused: grouped by status, with the hub's reason as
 * `herald publish` prints it. Reads at most a few KB of the body, for a bounded time.
 */
export async function refusal(
  action: string,
  response: { status: number; headers: Record<string, string | string[] | undefined>; body: Readable },
  tokenSource: TokenSource | undefined,
): Promise<Failure> {
  const body = await readBodyStart(response.body, MAX_REFUSAL_BYTES, REFUSAL_BODY_TIMEOUT_MS)
  response.body.destroy()
  const headers = new Headers()
  for (const [name, value] of Object.entries(response.headers))
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value)
  const statusText = STATUS_CODES[response.status] ?? ""
  return {
    kind: `${action}: HTTP ${response.status}`,
    message: describeFailure({ status: response.status, statusText, headers }, body, tokenSource),
  }
}
