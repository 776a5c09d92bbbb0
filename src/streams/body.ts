import type { IncomingMessage } from "node:http"
import { StreamsError } from "./errors.js"

/** Reads a request body whole, refusing with 413 past `maxBytes` (before reading it, when `Content-Length` says so). */
export async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new StreamsError(
      413,
      `The body is larger than this server accepts (${maxBytes} bytes); append it in parts.`,
    )
  const declared = Number(request.headers["content-length"])
  if (declared > maxBytes) throw tooLarge()
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBytes) throw tooLarge()
    chunks.push(chunk)
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)
}
