import type { IncomingMessage, ServerResponse } from "node:http"
import { constants as http2Constants } from "node:http2"
import { http2StreamOf } from "./http2-stream.js"

/** Bounds on reading one request body. */
export interface BodyLimits {
  readonly maxBodyBytes: number
  readonly bodyIdleTimeoutMs: number
}

/** The longest pause in a request body by default, ms: no honest client pauses a minute mid-body. */
export const DEFAULT_BODY_IDLE_TIMEOUT_MS = 60_000

/** How an app words a body read that ends early, in its own error type and shape. */
export interface BodyErrors {
  /** The body is larger than `maxBytes` (announced so, or once read that far). */
  tooLarge(maxBytes: number): Error
  /** No chunk came for `idleMs`: the rest will never be read. */
  stalled(idleMs: number): Error
  /** The client closed the connection mid-body: nobody to answer, and nothing the server did wrong. */
  abandoned(): Error
}

/**
 * Reads a request body of at most `maxBodyBytes`. Past the limit it stops reading and throws
 * `errors.tooLarge`; a body announced larger by `Content-Length` is refused before reading.
 * A body that stalls is cut as {@link bodyChunks} says. Read from the request's events, one idle
 * timer restarted per chunk: the hot path of every append and publish, where an async iterator
 * and a timer per chunk cost more than the read.
 *
 * With `timeout` `"whole"`, `bodyIdleTimeoutMs` bounds the whole body instead of each pause, and
 * `errors.stalled` is thrown once it passes: for a body that never needs to stream, which a
 * client sending a byte now and then must not hold open for ever.
 */
export function readBody(
  request: IncomingMessage,
  limits: BodyLimits,
  errors: BodyErrors,
  timeout: "idle" | "whole" = "idle",
): Promise<Buffer> {
  const restartPerChunk = timeout === "idle"
  const maxBytes = limits.maxBodyBytes
  if (Number(request.headers["content-length"]) > maxBytes) return Promise.reject(errors.tooLarge(maxBytes))
  // Events already past would never come again: a client gone, or a body read before.
  if (request.destroyed) return Promise.reject(errors.abandoned())
  if (request.readableEnded) return Promise.resolve(Buffer.alloc(0))
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      if (restartPerChunk) idle.refresh()
      size += chunk.length
      if (size > maxBytes) stop(errors.tooLarge(maxBytes), true)
      else chunks.push(chunk)
    }
    const onEnd = () => {
      settle()
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size))
    }
    const onError = (error: Error) => stop(request.destroyed ? errors.abandoned() : error, false)
    const onClose = () => stop(errors.abandoned(), false)
    const idle = setTimeout(
      () => stop(errors.stalled(limits.bodyIdleTimeoutMs), false),
      limits.bodyIdleTimeoutMs,
    )
    const settle = () => {
      clearTimeout(idle)
      request.off("data", onData)
      request.off("end", onEnd)
      request.off("error", onError)
      request.off("close", onClose)
    }
    /**
     * Reads no more; over HTTP/2 a body refused before its end lets the request go as
     * {@link bodyChunks} does (its stream is closed once the refusal is sent), a stalled one not.
     */
    const stop = (error: Error, letGo: boolean) => {
      settle()
      request.pause()
      // A listener for the errors that may follow, none of which is news any more.
      request.on("error", ignore)
      if (letGo && http2StreamOf(request) !== undefined) request.destroy()
      reject(error)
    }
    request.on("data", onData)
    request.on("end", onEnd)
    request.on("error", onError)
    request.on("close", onClose)
  })
}

function ignore(): void {}

const STALLED = Symbol("stalled")

/**
 * The chunks of a request body as they arrive. When none arrives for `idleMs` (the clock runs
 * only while waiting for the client, not while the consumer works on a chunk), it throws
 * `errors.stalled`: a client that stalls on purpose must not keep the socket.
 *
 * A body left before its end (a stall, or a consumer that stops on a refusal) is not read on:
 * over HTTP/1 the refusal closes the connection once sent (`closeIfBodyUnread`), whereas ending
 * the iterator would destroy the request, and the socket with it, before the refusal is sent.
 */
export async function* bodyChunks(
  request: IncomingMessage,
  idleMs: number,
  errors: Pick<BodyErrors, "stalled" | "abandoned">,
): AsyncGenerator<Buffer> {
  const chunks = (request as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  let stalled = false
  try {
    while (true) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const idle = new Promise<typeof STALLED>((resolve) => {
        timer = setTimeout(() => resolve(STALLED), idleMs)
      })
      let next: IteratorResult<Buffer> | typeof STALLED
      try {
        next = await Promise.race([chunks.next(), idle])
      } catch (error) {
        if (request.destroyed) throw errors.abandoned()
        throw error
      } finally {
        clearTimeout(timer)
      }
      if (next === STALLED) {
        stalled = true
        throw errors.stalled(idleMs)
      }
      if (next.done) return
      yield next.value
    }
  } finally {
    // A consumer that stopped early lets the request go; its HTTP/2 stream is closed once the
    // refusal is sent (closeIfBodyUnread). A stalled one is left for the 408 to be sent first.
    if (!stalled && http2StreamOf(request) !== undefined) await chunks.return?.()
  }
}

/**
 * Ends the exchange of a request whose body has not all arrived (a refusal before or while
 * reading it) once its answer is sent. Over HTTP/1, `Connection: close`: without it Node, to reach
 * the connection's next request, reads and drops the rest of the body for as long as the client
 * sends it — a `Content-Length` of 100 GB included. Over HTTP/2 (no `Connection` header there),
 * the stream is closed with `NO_ERROR` after the answer (RFC 9113 §8.1): a stream whose client
 * side is still open would stay open, holding its connection slot and one of the session's streams.
 */
export function closeIfBodyUnread(response: ServerResponse): void {
  const request = response.req as IncomingMessage | undefined
  if (request === undefined || request.complete) return
  const stream = http2StreamOf(request)
  if (stream !== undefined) {
    stream.once("finish", () => {
      if (!request.complete && !stream.closed) stream.close(http2Constants.NGHTTP2_NO_ERROR)
    })
    return
  }
  const { headers } = request
  if (headers["transfer-encoding"] !== undefined || Number(headers["content-length"]) > 0) {
    response.setHeader("connection", "close")
  }
}
