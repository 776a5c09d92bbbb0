/** POST: append, close, or both at once (protocol sections 5.2, 5.2.1, 5.3). */

import type { IncomingHttpHeaders } from "node:http"
import type { AppendResult, NewEntry } from "../engine/engine.js"
import type { ProducerFence } from "../engine/producer.js"
import { readBody } from "./body.js"
import { bodyToEntries, mediaType, normalizeContentType } from "./content.js"
import type { Reply, StreamRequest, StreamsContext } from "./context.js"
import { StreamsError } from "./errors.js"
import { requireStream } from "./lookup.js"
import { closedHeader, decimalHeader, header } from "./request-headers.js"
import { exposedOffset, type Stream } from "./stream.js"

/** What the producer fence refuses; on a closed stream, the closed answer comes first. */
const PRODUCER_REFUSALS: ReadonlySet<AppendResult["status"]> = new Set([
  "stale-epoch",
  "invalid-epoch-seq",
  "sequence-gap",
])

/** Stands in for the body of an append to a closed stream: the engine refuses it (or finds it a retry) and writes nothing. */
const REFUSED: readonly NewEntry[] = [{ data: "" }]

export async function appendToStream(context: StreamsContext, request: StreamRequest): Promise<Reply> {
  const headers = request.request.headers
  const close = closedHeader(headers)
  const producer = producerHeaders(headers, context.limits.maxProducerIdLength)
  const writerSeq = header(headers, "stream-seq")
  const stream = await requireStream(context, request.path)
  request.caller.require("append", request.path, stream.owner)
  const body = await readBody(request.request, context.limits)
  if (body.length === 0 && !close) {
    throw new StreamsError(
      400,
      "An append needs a body (only a close, with Stream-Closed: true, may be empty).",
    )
  }
  let entries: readonly NewEntry[] = []
  if (body.length > 0) {
    if (stream.head.closed) {
      // Section 5.2's precedence: a closed stream answers 409 with Stream-Closed before any other check.
      if (producer === undefined) throw closedError(stream, stream.head.tail)
      entries = REFUSED
    } else {
      const contentType = normalizeContentType(header(headers, "content-type"))
      if (contentType === undefined)
        throw new StreamsError(400, "An append with a body needs a Content-Type.")
      if (mediaType(contentType) !== mediaType(stream.contentType)) {
        throw new StreamsError(
          409,
          `This stream's content type is ${stream.contentType}, not ${contentType}.`,
        )
      }
      entries = bodyToEntries(stream.json, body, false, context.limits)
    }
  }
  // Only to the stream checked above: one deleted and made again while the body came is another.
  const result = await context.engine.append(stream.log, entries, {
    close,
    producer,
    writerSeq,
    epoch: stream.head.epoch,
  })
  // The append slid the stream's TTL: a fork's marker goes on with it.
  await context.forkMarkerTtl.touched(stream)
  // Section 5.2.1: a producer's append to a closed stream is answered as closed, unless it is a
  // retry of the close (a duplicate), whatever its epoch and seq say.
  if (stream.head.closed && PRODUCER_REFUSALS.has(result.status)) throw closedError(stream, stream.head.tail)
  return replyTo(stream, result, producer)
}

/** `Producer-Id`, `Producer-Epoch`, `Producer-Seq`: all three or none (a 400 otherwise). */
function producerHeaders(headers: IncomingHttpHeaders, maxIdLength: number): ProducerFence | undefined {
  const id = header(headers, "producer-id")
  const epoch = header(headers, "producer-epoch")
  const seq = header(headers, "producer-seq")
  if (id === undefined && epoch === undefined && seq === undefined) return undefined
  if (id === undefined || epoch === undefined || seq === undefined) {
    throw new StreamsError(
      400,
      "Send Producer-Id, Producer-Epoch and Producer-Seq together, or none of them.",
    )
  }
  if (id === "") throw new StreamsError(400, "`Producer-Id` must not be empty.")
  if (id.length > maxIdLength) {
    throw new StreamsError(
      400,
      `\`Producer-Id\` is longer than ${maxIdLength} characters; use a shorter id (a UUID is 36).`,
    )
  }
  return { id, epoch: decimalHeader(epoch, "Producer-Epoch"), seq: decimalHeader(seq, "Producer-Seq") }
}

function replyTo(stream: Stream, result: AppendResult, producer: ProducerFence | undefined): Reply {
  switch (result.status) {
    case "appended": {
      const headers: Record<string, string> = { "stream-next-offset": exposedOffset(stream, result.tail) }
      if (result.closed) headers["stream-closed"] = "true"
      if (producer !== undefined) {
        headers["producer-epoch"] = String(producer.epoch)
        headers["producer-seq"] = String(producer.seq)
      }
      // 200 says a producer's data was written; a close alone writes none.
      return { status: producer === undefined || result.entries.length === 0 ? 204 : 200, headers }
    }
    case "duplicate":
      return {
        status: 204,
        headers: {
          "stream-next-offset": exposedOffset(stream, result.tail),
          ...(result.closed ? { "stream-closed": "true" } : {}),
          "producer-epoch": String(producer?.epoch),
          "producer-seq": String(result.lastSeq),
        },
      }
    case "closed":
      throw closedError(stream, result.tail)
    case "missing":
      throw new StreamsError(404, `There is no stream at ${stream.path}.`)
    case "stale-epoch":
      throw new StreamsError(403, "A newer epoch of this producer exists: this one is fenced off.", {
        "producer-epoch": String(result.currentEpoch),
      })
    case "invalid-epoch-seq":
      throw new StreamsError(400, "A new producer epoch must start at Producer-Seq 0.")
    case "sequence-gap":
      throw new StreamsError(
        409,
        `Producer-Seq ${result.receivedSeq} skips ahead: ${result.expectedSeq} was expected.`,
        {
          "producer-expected-seq": String(result.expectedSeq),
          "producer-received-seq": String(result.receivedSeq),
        },
      )
    case "writer-seq-conflict":
      throw new StreamsError(409, `Stream-Seq must sort after the last one given (${result.lastWriterSeq}).`)
    case "fenced":
    case "conflict":
      throw new StreamsError(409, "The stream refused this append.")
  }
}

function closedError(stream: Stream, tail: string): StreamsError {
  return new StreamsError(409, "The stream is closed: nothing more can be appended.", {
    "stream-closed": "true",
    "stream-next-offset": exposedOffset(stream, tail),
  })
}
