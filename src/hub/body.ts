import type { IncomingMessage } from "node:http"
import { HttpError } from "./http-error.js"

/** Bounds on reading one request body. */
export interface BodyLimits {
  readonly maxBodyBytes: number
  readonly bodyIdleTimeoutMs: number
}

/**
 * Reads a request body of at most `maxBodyBytes`. Past the limit it stops reading and throws a
 * 413 {@link HttpError}; a body announced larger by `Content-Length` is refused before reading.
 * A body that stalls is cut as {@link bodyChunks} says.
 */
export async function readBody(request: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const maxBytes = limits.maxBodyBytes
  const announced = Number(request.headers["content-length"])
  if (announced > maxBytes) throw tooLarge(maxBytes)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of bodyChunks(request, limits.bodyIdleTimeoutMs)) {
    size += chunk.length
    if (size > maxBytes) throw tooLarge(maxBytes)
    chunks.push(chunk)
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)
}

/**
 * The chunks of a request body as they arrive. When none arrives for `idleMs` (the clock runs
 * only while waiting for the client, not while the consumer works on a chunk), it throws a 408
 * {@link HttpError} asking to close the connection: what is left of the body will never be read,
 * and a client that stalls on purpose must not keep the socket.
 */
export async function* bodyChunks(request: IncomingMessage, idleMs: number): AsyncGenerator<Buffer> {
  const chunks = (request as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  let timedOut = false
  try {
    while (true) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(bodyStalled(idleMs)), idleMs)
      })
      let next: IteratorResult<Buffer>
      try {
        next = await Promise.race([chunks.next(), idle])
      } catch (error) {
        timedOut = error instanceof HttpError
        // The client left mid-body: nobody to answer, and nothing the hub did wrong.
        if (!timedOut && request.destroyed) throw bodyAbandoned()
        throw error
      } finally {
        clearTimeout(timer)
      }
      if (next.done) return
      yield next.value
    }
  } finally {
    // Ending the iterator destroys the request, and with it the socket: not before the 408 is
    // sent (the response's `Connection: close` ends the socket then).
    if (!timedOut) await chunks.return?.()
  }
}

function bodyStalled(idleMs: number): HttpError {
  return new HttpError(
    408,
    `The request body stopped arriving for ${idleMs} ms, so the hub stopped reading it. Send the body without pauses; a streaming publish with nothing to send can send an empty line to stay open (raise the limit with --body-idle-timeout).`,
    { connection: "close" },
  )
}

function bodyAbandoned(): HttpError {
  return new HttpError(400, "The client closed the connection before the request body ended.")
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(
    413,
    `The request body is larger than the hub accepts (${maxBytes} bytes). Send smaller updates, or raise the limit with --max-body-bytes.`,
  )
}

/** Whether the request's `Content-Type` is `mediaType` (parameters ignored). */
export function isMediaType(request: IncomingMessage, mediaType: string): boolean {
  const header = request.headers["content-type"]
  if (header === undefined) return false
  const semicolon = header.indexOf(";")
  return (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase() === mediaType
}
