import type { IncomingMessage } from "node:http"

/** A request body that cannot be read as JSON: its status (400, 413, 415) and why. */
export class BodyError extends Error {
  override readonly name = "BodyError"
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message)
  }
}

/**
 * The JSON body of a request, at most `maxBytes` (a body announced larger by `Content-Length` is
 * refused unread; a longer one is cut at the limit). The HTTP server's own timeouts bound a body
 * that stalls.
 */
export async function readJsonBody(request: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = request.headers["content-type"]?.split(";")[0]?.trim().toLowerCase()
  if (type !== undefined && type !== "application/json") {
    throw new BodyError(415, `The body must be JSON (Content-Type: application/json), not ${type}.`)
  }
  if (Number(request.headers["content-length"]) > maxBytes) throw tooLarge(maxBytes)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBytes) throw tooLarge(maxBytes)
    chunks.push(chunk)
  }
  try {
    return JSON.parse(Buffer.concat(chunks, size).toString("utf8"))
  } catch (error) {
    throw new BodyError(400, `The body is not valid JSON: ${(error as Error).message}`)
  }
}

function tooLarge(maxBytes: number): BodyError {
  return new BodyError(413, `The body is larger than this server accepts (${maxBytes} bytes).`)
}
