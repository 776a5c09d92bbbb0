import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http"
import { Agent as HttpsAgent, request as httpsRequest } from "node:https"
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
  /** What the translator still holds when the end frame comes (tool calls no finish reason ended). */
  flush?(): Translation["entries"]
}

/** The POST an adapter sends upstream. */
export interface UpstreamRequest {
  url: string
  headers: Record<string, string>
  body: unknown
  /** How long the upstream may send nothing, before its head or mid-stream, in ms. Default {@link UPSTREAM_IDLE_TIMEOUT_MS}. */
  idleTimeoutMs?: number
}

/** How long an upstream may send nothing before its connection is closed: 5 minutes, as fetch (undici) waits. */
export const UPSTREAM_IDLE_TIMEOUT_MS = 300_000

/**
 * POSTs a JSON body to an SSE endpoint with node:http (node:https for `https:`), reads the
 * response with Herald's parser, and yields the entries `translator` makes of its events. The one
 * reader both HTTP adapters share. node:http rather than fetch: each chunk of the body then
 * reaches the parser straight from the socket's read, not through web streams' queues. No
 * redirect is followed and no compression asked for (a stream is not worth buffering to compress).
 *
 * - A refusal before the stream (non-2xx, no connection, not `text/event-stream`) throws an
 *   {@link UpstreamRequestError}.
 * - An upstream that sends nothing for `idleTimeoutMs` is cut: before its head, a refusal; after
 *   it, a connection lost mid-stream.
 * - After the 200, every failure is an error entry, the last one: a connection lost mid-stream,
 *   an event too large, a translator's error (malformed frame, error frame), or a stream that
 *   ends without its final frame and without a `finish` entry ("cut"). A connection lost after
 *   the `finish` entry lost only what follows it (the usage, the end frame): no error.
 * - Aborting `signal` aborts the request, which closes the connection, and throws
 *   `signal.reason`; leaving the iteration early closes it too.
 */
export async function* streamFromUpstream(
  request: UpstreamRequest,
  translator: EventTranslator,
  signal: AbortSignal,
): AsyncGenerator<Entry, void, undefined> {
  const response = await post(request, signal)
  const body = response[Symbol.asyncIterator]()
  const events: ServerSentEvent[] = []
  // Comments (`: OPENROUTER PROCESSING`, `: ping`), `id:` and `retry:` lines mean nothing here.
  const parser = createParser({ onEvent: (event) => events.push(event) })
  let afterOutput = false
  let finished = false
  /** An end frame came (`[DONE]`, `message_stop`): the upstream has nothing more to say. */
  let endFrame = false
  const stamp = (entry: Exclude<Entry, ErrorEntry> | UpstreamFailure): Entry => {
    if (entry.type === "error") return { ...entry, afterOutput }
    if (isOutputEntry(entry)) afterOutput = true
    if (entry.type === "finish") finished = true
    return entry
  }
  try {
    for (;;) {
      let chunk: IteratorResult<Buffer>
      try {
        chunk = await body.next()
      } catch (error) {
        if (signal.aborted) throw signal.reason
        // After the finish the answer is whole: only the usage chunk or the end frame was lost, and
        // what the translator still holds is given.
        if (finished) {
          for (const entry of translator.flush?.() ?? []) yield stamp(entry)
          return
        }
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
        if (translation.end) {
          endFrame = true
          return
        }
      }
      if (chunk.done) break
    }
    if (!finished) {
      yield stamp(failure("stream_cut", "the upstream stream ended before its final frame"))
    } else {
      for (const entry of translator.flush?.() ?? []) yield stamp(entry)
    }
  } finally {
    // Not read to its end (an error, a stop, the consumer left): closing the upstream connection
    // stops the model generating. After an end frame the model is done: the connection is kept.
    if (endFrame) drain(response, body)
    else response.destroy()
  }
}

/** How long the rest of a stream after its end frame may take to come before its connection is closed. */
const DRAIN_MS = 1_000

/**
 * Reads what follows an end frame (the chunked body's last, empty chunk usually comes in the next
 * packet): once the response ends, its connection goes back to the agent, and the next request
 * to that upstream skips a new connection (and its TLS handshake). One that does not end within
 * {@link DRAIN_MS} is closed.
 */
function drain(response: IncomingMessage, body: AsyncIterator<Buffer>): void {
  if (response.readableEnded) return
  const timer = setTimeout(() => response.destroy(), DRAIN_MS)
  const next = (): void => {
    body.next().then(
      (chunk) => (chunk.done ? clearTimeout(timer) : next()),
      () => clearTimeout(timer),
    )
  }
  next()
}

/** Makes an error entry of Herald's own (`errorType` names what went wrong with the stream). */
export function failure(errorType: string, message: string): UpstreamFailure {
  return { type: "error", message, errorType }
}

/** A frame that is not a JSON object ends the generation with an error entry, never an exception. */
function translate(translator: EventTranslator, event: ServerSentEvent): Translation {
  if (event.data === translator.endMarker) return { entries: translator.flush?.() ?? [], end: true }
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
/** An upstream's http(s) `baseURL`, parsed; anything else throws a `TypeError` saying what is expected. */
export function upstreamURL(baseURL: unknown): URL {
  let url: URL | undefined
  try {
    url = typeof baseURL === "string" ? new URL(baseURL) : undefined
  } catch {}
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new TypeError(
      `baseURL must be an http(s) URL such as http://localhost:11434/v1; got ${JSON.stringify(baseURL)}`,
    )
  }
  return url
}

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

/** The upstream's response once it is a 2xx event stream; anything else throws {@link UpstreamRequestError}. */
async function post(request: UpstreamRequest, signal: AbortSignal): Promise<IncomingMessage> {
  let response: IncomingMessage
  try {
    response = await send(request, signal)
  } catch (error) {
    if (signal.aborted) throw signal.reason
    throw new UpstreamRequestError(`the upstream could not be reached: ${messageOf(error)}`, { cause: error })
  }
  const status = response.statusCode ?? 0
  const contentType = response.headers["content-type"] ?? ""
  const ok = status >= 200 && status < 300
  if (ok && contentType.toLowerCase().startsWith("text/event-stream")) return response
  const headers = headersOf(response)
  const body = await readErrorBody(response, signal)
  const message = ok
    ? `the upstream answered ${status} with ${contentType || "no content type"}, not text/event-stream`
    : `the upstream answered ${status}: ${errorMessageOf(body) ?? response.statusMessage}`
  throw new UpstreamRequestError(message, { status, body, headers })
}

/** How long a kept-alive connection may wait for the next request: under the 5 s many servers keep one (uvicorn, Node's). */
const FREE_SOCKET_MS = 4_000
/** How long a connection (name lookup included) may take to open, as fetch (undici) allows. */
const CONNECT_TIMEOUT_MS = 10_000

/** The agents upstream requests go through, one per scheme, with their own connection settings. */
export const UPSTREAM_AGENTS = {
  http: new HttpAgent({ keepAlive: true, timeout: FREE_SOCKET_MS }),
  https: new HttpsAgent({ keepAlive: true, timeout: FREE_SOCKET_MS }),
}

/**
 * Sends the POST; resolves with the response once its head came. A kept-alive connection the
 * server closed just as it was reused fails before any answer: the request is sent once more, on
 * a new connection (Node's documented remedy; the server cannot have read it).
 */
function send(request: UpstreamRequest, signal: AbortSignal, fresh = false): Promise<IncomingMessage> {
  const url = new URL(request.url)
  const body = Buffer.from(JSON.stringify(request.body))
  const https = url.protocol === "https:"
  const idleMs = request.idleTimeoutMs ?? UPSTREAM_IDLE_TIMEOUT_MS
  return new Promise((resolve, reject) => {
    let received: IncomingMessage | undefined
    const outgoing = (https ? httpsRequest : httpRequest)(
      url,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "text/event-stream",
          "user-agent": "herald",
          ...request.headers,
          "content-length": body.byteLength,
        },
        // `false`: a connection of its own, closed after it.
        agent: fresh ? false : https ? UPSTREAM_AGENTS.https : UPSTREAM_AGENTS.http,
        signal,
      },
      (response) => {
        received = response
        resolve(response)
      },
    )
    // Until it is open, the connection has CONNECT_TIMEOUT_MS; then the request's idleMs applies.
    outgoing.on("socket", (socket) => {
      if (socket.connecting) socket.setTimeout(CONNECT_TIMEOUT_MS)
    })
    outgoing.setTimeout(idleMs, () => {
      const error = new Error(
        outgoing.socket?.connecting === true
          ? `the upstream could not be connected to within ${CONNECT_TIMEOUT_MS} ms`
          : `the upstream sent nothing for ${idleMs} ms`,
      )
      // The response, once there, carries the reason to its reader; the request, before.
      if (received === undefined) outgoing.destroy(error)
      else received.destroy(error)
    })
    outgoing.on("error", (error: NodeJS.ErrnoException) => {
      if (outgoing.reusedSocket && received === undefined && error.code === "ECONNRESET" && !signal.aborted) {
        resolve(send(request, signal, true))
      } else {
        reject(error)
      }
    })
    outgoing.end(body)
  })
}

/** A response's headers as web `Headers`, repeated ones joined as fetch joins them. */
function headersOf(response: IncomingMessage): Headers {
  const headers = new Headers()
  const raw = response.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string)
  return headers
}

/** The error body, parsed when it is JSON, read up to {@link MAX_ERROR_BODY_BYTES}. */
async function readErrorBody(response: IncomingMessage, signal: AbortSignal): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      chunks.push(chunk)
      size += chunk.byteLength
      if (size >= MAX_ERROR_BODY_BYTES) break
    }
  } catch {
    // A body cut short: what arrived is still the best account of the refusal.
    if (signal.aborted) throw signal.reason
  } finally {
    response.destroy()
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
