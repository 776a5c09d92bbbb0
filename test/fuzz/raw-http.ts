// Raw HTTP/1.1 over a loopback socket, for the fuzz campaign: it sends bytes Node's http client
// refuses (invalid UTF-8, bare CR, duplicate framing headers, broken chunking), writes slowly or
// stops halfway, and reads just enough of the answer to know when it is complete.
import { connect, type Socket } from "node:net"

/** How a request's bytes are written. */
export type Delivery =
  /** All at once, then the answer is read. */
  | { readonly kind: "whole" }
  /** In `pieces` parts with a pause between them (a slow client), then the answer is read. */
  | { readonly kind: "slow"; readonly pieces: number; readonly pauseMs: number }
  /** The first `at` bytes (modulo the length), then the socket is destroyed: no answer is read. */
  | { readonly kind: "abort"; readonly at: number }
  /** All at once, then the client half-closes (FIN) and reads the answer. */
  | { readonly kind: "half-close" }

/** What came back, as far as it was read. */
export interface Answer {
  /** The final status (1xx interim answers skipped), or `undefined` when no head arrived. */
  readonly status: number | undefined
  /** Header names lowercased, values as the Latin-1 byte strings they are on the wire. */
  readonly headers: ReadonlyMap<string, readonly string[]>
  readonly body: Buffer
  /**
   * How reading ended: `complete` (the whole answer), `stream` (an event stream's head: the rest
   * never ends by itself), `closed` or `reset` by the server, `timeout`, or `aborted` by us.
   */
  readonly end: "complete" | "stream" | "closed" | "reset" | "timeout" | "aborted"
}

/** A parsed answer head, and whether the bytes read so far hold the whole answer. */
interface Progress {
  status: number | undefined
  headers: Map<string, string[]>
  body: Buffer
  complete: boolean
  stream: boolean
}

/** One client connection, written and read by the test. */
export class RawConnection {
  readonly #socket: Socket
  #received = Buffer.alloc(0)
  #closedBy: "closed" | "reset" | undefined
  #changed: () => void = () => {}
  readonly #headRequest: boolean

  private constructor(socket: Socket, headRequest: boolean) {
    this.#socket = socket
    this.#headRequest = headRequest
    socket.on("data", (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk])
      this.#changed()
    })
    socket.on("error", () => {
      this.#closedBy = "reset"
      this.#changed()
    })
    socket.on("close", () => {
      this.#closedBy ??= "closed"
      this.#changed()
    })
  }

  /** Connects to `port` on loopback. `headRequest`: the answer has no body whatever its headers say. */
  static open(port: number, headRequest = false): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, "127.0.0.1")
      socket.once("connect", () => {
        socket.off("error", reject)
        resolve(new RawConnection(socket, headRequest))
      })
      socket.once("error", reject)
    })
  }

  write(bytes: Uint8Array): void {
    if (!this.#socket.destroyed) this.#socket.write(bytes)
  }

  /** Half-closes: the server reads the end of the request. */
  end(): void {
    this.#socket.end()
  }

  /**
   * Resolves once the answer is complete (or is an event stream and `accept` says it has read
   * enough of it), the server closed the connection, or `deadlineMs` passed.
   */
  read(deadlineMs: number, accept: (body: Buffer) => boolean = () => true): Promise<Answer> {
    return new Promise((resolve) => {
      const check = (timedOut: boolean) => {
        const progress = parseAnswer(this.#received, this.#headRequest)
        let end: Answer["end"] | undefined
        if (progress.complete) end = "complete"
        else if (progress.stream && accept(progress.body)) end = "stream"
        else if (this.#closedBy !== undefined) end = this.#closedBy
        else if (timedOut) end = "timeout"
        if (end === undefined) return
        clearTimeout(timer)
        this.#changed = () => {}
        resolve({ status: progress.status, headers: progress.headers, body: progress.body, end })
      }
      const timer = setTimeout(() => check(true), deadlineMs)
      this.#changed = () => check(false)
      check(false)
    })
  }

  /** Destroys the socket and resolves once it is closed. */
  close(): Promise<void> {
    if (this.#socket.closed) return Promise.resolve()
    const closed = new Promise<void>((resolve) => this.#socket.once("close", () => resolve()))
    this.#socket.destroy()
    return closed
  }
}

/** Sends `request` over a new connection as `delivery` says, reads the answer, and closes. */
export async function exchange(
  port: number,
  request: Buffer,
  delivery: Delivery,
  options: { readonly deadlineMs: number; readonly headRequest?: boolean },
): Promise<Answer> {
  const connection = await RawConnection.open(port, options.headRequest)
  try {
    switch (delivery.kind) {
      case "abort":
        connection.write(request.subarray(0, delivery.at % (request.length + 1)))
        return { status: undefined, headers: new Map(), body: Buffer.alloc(0), end: "aborted" }
      case "slow": {
        const size = Math.ceil(request.length / delivery.pieces)
        for (let start = 0; start < request.length; start += size) {
          connection.write(request.subarray(start, start + size))
          // The pause is the point: a slow client. Bounded by the arbitrary (pieces × pauseMs).
          await new Promise((resolve) => setTimeout(resolve, delivery.pauseMs))
        }
        break
      }
      case "half-close":
        connection.write(request)
        connection.end()
        break
      case "whole":
        connection.write(request)
        break
    }
    return await connection.read(options.deadlineMs)
  } finally {
    await connection.close()
  }
}

const HEAD_END = Buffer.from("\r\n\r\n")

/** Parses what was received so far: the head (after 1xx answers), and whether the body is all there. */
function parseAnswer(received: Buffer, headRequest: boolean): Progress {
  let start = 0
  for (;;) {
    const headEnd = received.indexOf(HEAD_END, start)
    if (headEnd === -1) {
      return { status: undefined, headers: new Map(), body: Buffer.alloc(0), complete: false, stream: false }
    }
    const [statusLine = "", ...lines] = received.subarray(start, headEnd).toString("latin1").split("\r\n")
    const status = Number(statusLine.split(" ")[1])
    const bodyStart = headEnd + HEAD_END.length
    if (status >= 100 && status < 200 && status !== 101) {
      start = bodyStart
      continue
    }
    const headers = new Map<string, string[]>()
    for (const line of lines) {
      const colon = line.indexOf(":")
      const name = line.slice(0, colon).trim().toLowerCase()
      headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()])
    }
    const body = received.subarray(bodyStart)
    const answer = { status, headers, body, complete: false, stream: false }
    const length = headers.get("content-length")?.[0]
    if (headRequest || status === 204 || status === 304) answer.complete = true
    else if (status === 101 || headers.get("content-type")?.[0]?.startsWith("text/event-stream"))
      answer.stream = true
    else if (headers.get("transfer-encoding")?.[0]?.toLowerCase() === "chunked")
      answer.complete = chunkedBodyEnds(body)
    else if (length !== undefined) answer.complete = body.length >= Number(length)
    return answer
  }
}

/** Whether a chunked body has arrived up to its last (zero-size) chunk and the blank line after it. */
function chunkedBodyEnds(body: Buffer): boolean {
  let position = 0
  for (;;) {
    const lineEnd = body.indexOf("\r\n", position)
    if (lineEnd === -1) return false
    const size = Number.parseInt(body.subarray(position, lineEnd).toString("latin1"), 16)
    if (Number.isNaN(size)) return false
    // The last chunk, then optional trailer lines, then a blank line.
    if (size === 0) return body.indexOf(HEAD_END, lineEnd) !== -1
    position = lineEnd + 2 + size + 2
  }
}

/** A well-formed request: Host, `Connection: close`, and a Content-Length when there is a body. */
export function wellFormedRequest(
  method: string,
  target: string,
  headers: readonly (readonly [string, string])[] = [],
  body?: string,
): Buffer {
  const lines = [`${method} ${target} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close"]
  for (const [name, value] of headers) lines.push(`${name}: ${value}`)
  const payload = Buffer.from(body ?? "", "utf8")
  if (body !== undefined) lines.push(`Content-Length: ${payload.length}`)
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), payload])
}
