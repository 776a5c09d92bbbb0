import type { IncomingMessage } from "node:http"
import { HttpError } from "./http-error.js"

/**
 * Reads a request body of at most `maxBytes`. Past the limit it stops reading and throws a
 * 413 {@link HttpError}; a body announced larger by `Content-Length` is refused before reading.
 */
export async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const announced = Number(request.headers["content-length"])
  if (announced > maxBytes) throw tooLarge(maxBytes)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBytes) throw tooLarge(maxBytes)
    chunks.push(chunk)
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)
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
