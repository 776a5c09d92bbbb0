import { createParser, type ServerSentEvent } from "../protocol/index.js"
import type { Entry, ErrorEntry } from "./entries.js"
import { isOutputEntry } from "./entries.js"
import { MAX_ERROR_BODY_BYTES, UpstreamRequestError } from "./upstream-error.js"

/** An error entry as a translator makes it: whether output came before is known only to the reader. */
export type UpstreamFailure = Omit<ErrorEntry, "afterOutput">

/** What a translator makes of one upstream event. */
export interface Translation {
  entries: (Exclude<Entry, ErrorEntry> | UpstreamFailure)[]
  /** The event was the stream's last (`[DONE]`, `message_stop`): stop reading. */
  end: boolean
}

/**
 * Turns one provider's events into entries; holds that provider's state (open blocks, tool
 * calls). The reader parses each event's data as a JSON object first.
 */
export interface EventTranslator {
  /** An event data that ends the stream and is not JSON (OpenAI's `[DONE]`). */
  readonly endMarker?: string
  /**
   * The entries for one event's data. The `event:` field is not read: Anthropic repeats it as
   * the JSON's `type`, which is what its SDK reads, and OpenAI sends none.
   */
  translate(frame: Record<string, unknown>): Translation
}

/** The POST an adapter sends upstream. */
export interface UpstreamRequest {
  url: string
  headers: Record<string, string>
  body: unknown
}

/**
 * POSTs a JSON body to an SSE endpoint with fetch, reads the response with Herald's parser, and
 * yields the entries `translator` makes of its events. The one reader both HTTP adapters share.
 *
 * - A refusal before the stream (non-2xx, no connection, not `text/event-stream`) throws an
 *   {@link UpstreamRequestError}.
 * - After the 200, every failure is an error entry, the last one: a connection lost mid-stream,
 *   an event too large, a translator's error (malformed frame, error frame), or a stream that
 *   ends without its final frame and without a `finish` entry ("cut").
 * - Aborting `signal` aborts the fetch, which closes the connection, and throws `signal.reason`;
 *   leaving the iteration early cancels the body, which closes it too.
 */
export async function* streamFromUpstream(
  request: UpstreamRequest,
  translator: EventTranslator,
  signal: AbortSignal,
): AsyncGenerator<Entry, void, undefined> {
  const response = await post(request, signal)
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const events: ServerSentEvent[] = []
  // Comments (`: OPENROUTER PROCESSING`, `: ping`), `id:` and `retry:` lines mean nothing here.
  const parser = createParser({ onEvent: (event) => events.push(event) })
  let afterOutput = false
  let finished = false
  const stamp = (entry: Exclude<Entry, ErrorEntry> | UpstreamFailure): Entry => {
    if (entry.type === "error") return { ...entry, afterOutput }
    if (isOutputEntry(entry)) afterOutput = true
    if (entry.type === "finish") finished = true
    return entry
  }
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>
      try {
        chunk = await reader.read()
      } catch (error) {
        if (signal.aborted) throw signal.reason
        yield stamp(failure("stream_cut", `the upstream connection failed mid-stream: ${messageOf(error)}`))
        return
      }
      try {
        if (chunk.done) parser.end()
        else parser.feed(chunk.value)
      } catch (error) {
        yield stamp(
          failure("malformed_frame", `the upstream stream could not be parsed: ${messageOf(error)}`),
        )
        return
      }
      for (const event of events.splice(0)) {
        const translation = translate(translator, event)
        for (const entry of translation.entries) {
          yield stamp(entry)
          if (entry.type === "error") return
        }
        if (translation.end) return
      }
      if (chunk.done) break
    }
    if (!finished) {
      yield stamp(failure("stream_cut", "the upstream stream ended before its final frame"))
    }
  } finally {
    // Not read to its end (an end frame, an error, the consumer left): cancelling the body
    // closes the upstream connection, so the model stops generating.
    reader.cancel().catch(() => {})
  }
}

/** Makes an error entry of Herald's own (`errorType` names what went wrong with the stream). */
export function failure(errorType: string, message: string): UpstreamFailure {
  return { type: "error", message, errorType }
}

/** A frame that is not a JSON object ends the generation with an error entry, never an exception. */
function translate(translator: EventTranslator, event: ServerSentEvent): Translation {
  if (event.data === translator.endMarker) return { entries: [], end: true }
  let frame: unknown
  try {
    frame = JSON.parse(event.data)
  } catch {
    // Reported below, with the frame.
  }
  if (isRecord(frame)) return translator.translate(frame)
  const message = `the upstream sent a frame that is not a JSON object: ${event.data.slice(0, 200)}`
  return { entries: [failure("malformed_frame", message)], end: true }
}

/** Whether a JSON value is an object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
}

/** An upstream's `{"type", "message", "code"}` error object as an error entry. */
export function upstreamFailure(error: Record<string, unknown>, fallbackType: string): UpstreamFailure {
  const entry: UpstreamFailure = {
    type: "error",
    message: typeof error.message === "string" ? error.message : "the upstream reported an error",
    errorType: typeof error.type === "string" ? error.type : fallbackType,
  }
  if (typeof error.code === "string" || typeof error.code === "number") entry.code = String(error.code)
  return entry
}

async function post(request: UpstreamRequest, signal: AbortSignal): Promise<Response> {
  let response: Response
  try {
    response = await fetch(request.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", ...request.headers },
      body: JSON.stringify(request.body),
      signal,
    })
  } catch (error) {
    if (signal.aborted) throw signal.reason
    throw new UpstreamRequestError(`the upstream could not be reached: ${messageOf(error)}`, { cause: error })
  }
  const contentType = response.headers.get("content-type") ?? ""
  if (response.ok && response.body !== null && contentType.toLowerCase().startsWith("text/event-stream")) {
    return response
  }
  const body = await readErrorBody(response, signal)
  const message = response.ok
    ? `the upstream answered ${response.status} with ${contentType || "no content type"}, not text/event-stream`
    : `the upstream answered ${response.status}: ${errorMessageOf(body) ?? response.statusText}`
  throw new UpstreamRequestError(message, { status: response.status, body, headers: response.headers })
}

/** The error body, parsed when it is JSON, read up to {@link MAX_ERROR_BODY_BYTES}. */
async function readErrorBody(response: Response, signal: AbortSignal): Promise<unknown> {
  if (response.body === null) return undefined
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    while (size < MAX_ERROR_BODY_BYTES) {
      const chunk = await reader.read()
      if (chunk.done) break
      chunks.push(chunk.value)
      size += chunk.value.byteLength
    }
  } catch {
    // A body cut short: what arrived is still the best account of the refusal.
    if (signal.aborted) throw signal.reason
  } finally {
    reader.cancel().catch(() => {})
  }
  const text = new TextDecoder().decode(Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY_BYTES))
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** `{"error": {"message"}}` (OpenAI, Anthropic) or `{"message"}` (vLLM, others). */
function errorMessageOf(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return typeof body === "string" && body ? body : undefined
  const record = body as { error?: { message?: unknown }; message?: unknown }
  const message = record.error?.message ?? record.message
  return typeof message === "string" ? message : undefined
}

function messageOf(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : ""
  return error instanceof Error ? `${error.message}${cause}` : String(error)
}
