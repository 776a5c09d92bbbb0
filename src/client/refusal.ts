// A refused response's body, read a little so the error can say what the server objected to
// ("401" alone tells the user nothing; the server's problem document or JSON error usually does).
import { startTimer } from "./timeouts.js"

/** The most of a refusal's body that is read: error documents are far smaller. */
const MAX_REFUSAL_BYTES = 4096
/** A body that has not arrived by then is left out rather than waited for. */
const REFUSAL_READ_MS = 1000
/** The longest reason quoted in an error message. */
const MAX_REASON_LENGTH = 300

/**
 * The start of a non-200 response's body as text: at most 4 KiB, and what arrives within 1 s (a
 * server that sends the head and stalls must not hold up the reconnection or the error). The rest
 * is cancelled, which frees the connection.
 */
export async function readRefusal(response: Response): Promise<string> {
  const reader = response.body?.getReader()
  if (reader === undefined) return ""
  const decoder = new TextDecoder()
  let text = ""
  let bytes = 0
  const timer = startTimer(REFUSAL_READ_MS, () => void reader.cancel().catch(() => {}))
  try {
    while (bytes < MAX_REFUSAL_BYTES) {
      const { done, value } = await reader.read()
      if (done) break
      const piece = value.subarray(0, MAX_REFUSAL_BYTES - bytes)
      bytes += piece.byteLength
      text += decoder.decode(piece, { stream: true })
    }
  } catch {
    // Cut off (timeout, close, network): what arrived still counts.
  } finally {
    clearTimeout(timer)
    void reader.cancel().catch(() => {})
  }
  return text + decoder.decode()
}

/**
 * The server's own explanation in a refusal's body, if it gives one in a form that is common:
 * an RFC 9457 problem document's `detail` (or `title`), a JSON `{"error": {"message"}}` (as AI
 * providers send), `{"error": "…"}`, `{"message": "…"}` or OAuth's `error_description`; or a
 * short `text/plain` body. HTML pages and other formats give `undefined`.
 */
export function serverReason(body: string, contentType: string | null): string | undefined {
  const text = body.trim()
  if (text === "") return undefined
  const type = (contentType ?? "").split(";", 1)[0]?.trim().toLowerCase() ?? ""
  let reason: string | undefined
  if (type === "application/json" || type.endsWith("+json") || (type === "" && text.startsWith("{"))) {
    reason = jsonReason(text)
  } else if (type === "text/plain") {
    reason = text.split("\n", 1)[0]
  }
  reason = reason?.trim()
  if (!reason) return undefined
  return clippedReason(reason)
}

/** A reason cut to at most 300 characters, ending in `…` when cut: one line of a message. */
export function clippedReason(reason: string): string {
  return reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH - 1)}…` : reason
}

/** The reason a JSON error document gives (most specific field first), if any. */
export function jsonReason(text: string): string | undefined {
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof document !== "object" || document === null) return undefined
  const { detail, title, error, message, error_description } = document as Record<string, unknown>
  const errorMessage =
    typeof error === "object" && error !== null ? (error as { message?: unknown }).message : undefined
  // Most specific first: a bare `error` is often a code ("invalid_token") and `title` a status text.
  for (const candidate of [detail, errorMessage, error_description, message, error, title]) {
    if (typeof candidate === "string") return candidate
  }
  return undefined
}
