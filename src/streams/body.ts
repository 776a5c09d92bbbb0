import type { IncomingMessage } from "node:http"
import { StreamsError } from "./errors.js"

/**
 * Reads a request body whole, refusing with 413 past `maxBytes` (before reading it, when
 * `Content-Length` says so). Events rather than `for await`: an append is mostly this, and the
 * async iterator costs more than the small body it reads.
 */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new StreamsError(
      413,
      `The body is larger than this server accepts (${maxBytes} bytes); append it in parts.`,
      // The rest of the body is not read: the connection cannot carry another request.
      { connection: "close" },
    )
  const declared = Number(request.headers["content-length"])
  if (declared > maxBytes) return Promise.reject(tooLarge())
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) {
        finish()
        request.pause()
        reject(tooLarge())
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      finish()
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size))
    }
    const onFailure = (error?: Error) => {
      finish()
      reject(error ?? new Error("The request ended before its body was read."))
    }
    const onClose = () => {
      if (!request.complete) onFailure()
    }
    const finish = () => {
      request.off("data", onData)
      request.off("end", onEnd)
      request.off("error", onFailure)
      request.off("close", onClose)
    }
    request.on("data", onData)
    request.on("end", onEnd)
    request.on("error", onFailure)
    request.on("close", onClose)
  })
}
