import { performance } from "node:perf_hooks"
import type { Readable } from "node:stream"
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib"
import { createParser } from "../../protocol/index.js"
import { errorCauses } from "../http-errors.js"
import { HeadersTimeoutError, openStream } from "./connect.js"
import type { ArrivedEvent, Observation } from "./observation.js"

/** How to watch one stream. */
export interface WatchSettings {
  /** Request headers beyond the ones a browser's EventSource sends (a token, `Last-Event-ID`). */
  readonly headers: Readonly<Record<string, string>>
  readonly timeoutMs: number
  readonly insecure: boolean
  /** How long to watch the body once the headers are in. */
  readonly durationMs: number
}

/** Callbacks into a running watch. */
export interface WatchHooks {
  /**
   * The headers are in: the stream is live (the probe starts publishing here). `now` is the
   * watch's clock (ms since the request was sent), for times comparable with the observation's.
   */
  onOpen?(now: () => number): void
  /** Called as events and comments arrive. */
  onProgress?(seen: { events: number; comments: number; elapsedMs: number }): void
  /** Ends the watch early once it returns true (checked after each event). */
  stopWhen?(events: readonly ArrivedEvent[]): boolean
}

/**
 * What a browser sends. `Accept-Encoding` included, so compression middleware that would
 * compress a browser's stream compresses the doctor's too.
 */
const BROWSER_HEADERS: Readonly<Record<string, string>> = {
  accept: "text/event-stream",
  "cache-control": "no-cache",
  "accept-encoding": "gzip, deflate, br",
  "user-agent": "herald-doctor",
}

/** Opens `url` and records everything the stream does until the watch ends. */
export async function observe(
  url: URL,
  settings: WatchSettings,
  hooks: WatchHooks = {},
): Promise<Observation> {
  const started = performance.now()
  const now = () => Math.round(performance.now() - started)
  let opened: Awaited<ReturnType<typeof openStream>>
  try {
    opened = await openStream(url, {
      headers: { ...BROWSER_HEADERS, ...settings.headers },
      timeoutMs: settings.timeoutMs,
      insecure: settings.insecure,
    })
  } catch (error) {
    const headersTimedOut = errorCauses(error).some((cause) => cause instanceof HeadersTimeoutError)
    return { ...EMPTY, url, connectError: describeError(error), headersTimedOut, watchedMs: now() }
  }
  const headersMs = now()
  const response = {
    url,
    connectError: undefined,
    httpVersion: opened.httpVersion,
    status: opened.status,
    headers: opened.headers,
    headersMs,
  }
  if (opened.status !== 200) {
    // No stream: EventSource gives up on it. What the server says is read, not watched.
    const errorBody = await readBodyStart(
      decode(opened.body, opened.headers["content-encoding"]),
      MAX_ERROR_BODY_BYTES,
      settings.timeoutMs,
    )
    opened.close()
    return { ...EMPTY, ...response, watchedMs: now() - headersMs, errorBody }
  }
  const chunks: { atMs: number; bytes: number }[] = []
  const events: ArrivedEvent[] = []
  const commentsMs: number[] = []
  const retries: number[] = []
  let endedMs: number | undefined
  let bodyError: string | undefined
  // Events that land after the watch (a close in flight) are not part of it.
  let watching = true

  hooks.onOpen?.(now)
  await new Promise<void>((resolve) => {
    const finish = () => {
      watching = false
      clearTimeout(deadline)
      resolve()
    }
    const deadline = setTimeout(finish, settings.durationMs)
    const progress = () =>
      hooks.onProgress?.({ events: events.length, comments: commentsMs.length, elapsedMs: now() - headersMs })
    const parser = createParser({
      onEvent: (event) => {
        if (!watching) return
        events.push({ event, atMs: now() })
        progress()
        if (hooks.stopWhen?.(events) === true) finish()
      },
      onComment: () => {
        if (!watching) return
        commentsMs.push(now())
        progress()
      },
      onRetry: (ms) => retries.push(ms),
    })
    opened.body.on("data", (chunk: Buffer) => chunks.push({ atMs: now(), bytes: chunk.length }))
    const decoded = decode(opened.body, opened.headers["content-encoding"])
    decoded.on("data", (chunk: Buffer) => parser.feed(chunk))
    const ended = () => {
      if (watching) endedMs = now()
      finish()
    }
    decoded.on("end", ended)
    decoded.on("close", ended)
    decoded.on("error", (error) => {
      if (watching) bodyError = describeError(error)
      finish()
    })
  })
  const watchedMs = (endedMs ?? now()) - headersMs
  opened.close()
  return {
    ...response,
    chunks,
    events,
    commentsMs,
    retries,
    endedMs,
    bodyError,
    watchedMs,
  }
}

const EMPTY: Omit<Observation, "url" | "connectError" | "watchedMs"> = {
  httpVersion: undefined,
  status: undefined,
  headers: {},
  headersMs: undefined,
  chunks: [],
  events: [],
  commentsMs: [],
  retries: [],
  endedMs: undefined,
  bodyError: undefined,
}

/** The most of a refusal's body the doctor reads: enough for a problem document, not a whole page. */
const MAX_ERROR_BODY_BYTES = 16 * 1024

/**
 * The start of `body` as text: up to `maxBytes`, what came within `timeoutMs` (a body that never
 * ends is not waited for), what came before an error.
 */
export function readBodyStart(body: Readable, maxBytes: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    const finish = () => {
      clearTimeout(timer)
      body.off("data", onData)
      resolve(new TextDecoder().decode(Buffer.concat(chunks).subarray(0, maxBytes)))
    }
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
      if (size >= maxBytes) finish()
    }
    const timer = setTimeout(finish, timeoutMs)
    body.on("data", onData)
    body.once("end", finish)
    body.once("close", finish)
    body.on("error", finish)
  })
}

/** The body as the parser must see it: decompressed when the server compressed it. */
function decode(body: Readable, encoding: string | undefined): Readable {
  const decompressor = DECOMPRESSORS[encoding?.trim().toLowerCase() ?? ""]
  if (decompressor === undefined) return body
  const decoded = decompressor()
  body.on("error", (error) => decoded.destroy(error))
  return body.pipe(decoded)
}

const DECOMPRESSORS: Readonly<Record<string, () => Readable & NodeJS.WritableStream>> = {
  gzip: createGunzip,
  "x-gzip": createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
}

/** The innermost reason: fetch-style wrappers and aborts keep it in `cause`. */
export function describeError(error: unknown): string {
  const current = errorCauses(error).at(-1)
  const message = current instanceof Error ? current.message : String(current)
  const code = (current as { code?: unknown }).code
  return typeof code === "string" && !message.includes(code) ? `${message} (${code})` : message
}
