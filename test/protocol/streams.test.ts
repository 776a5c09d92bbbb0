import { describe, expect, it } from "vitest"
import { type EventFields, ParseError, SSEDecoderStream, SSEEncoderStream } from "../../src/protocol/index.js"

async function readAll<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = []
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return out
    out.push(value)
  }
}

/** A stream of the given chunks (ReadableStream.from is not in the DOM typings yet). */
function streamOf<T>(chunks: T[]): ReadableStream<T> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk)
      controller.close()
    },
  })
}

describe("SSEDecoderStream", () => {
  it("parses a fetch-style byte body", async () => {
    const body = new Response("retry: 10\n: hi\nid: 1\nevent: a\ndata: x\n\ndata: y\n\ndata: cut").body
    if (!body) throw new Error("Response has no body")
    const retries: number[] = []
    const comments: string[] = []
    const events = await readAll(
      body.pipeThrough(
        new SSEDecoderStream({ onRetry: (ms) => retries.push(ms), onComment: (text) => comments.push(text) }),
      ),
    )
    expect(events).toEqual([
      { type: "a", data: "x", lastEventId: "1" },
      { type: "message", data: "y", lastEventId: "1" },
    ])
    expect(retries).toEqual([10])
    expect(comments).toEqual(["hi"])
  })

  it("accepts string chunks and a starting last event ID", async () => {
    const source = streamOf(["data: ", "a\n\n"])
    const events = await readAll(source.pipeThrough(new SSEDecoderStream({ lastEventId: "9" })))
    expect(events).toEqual([{ type: "message", data: "a", lastEventId: "9" }])
  })

  it("errors the stream when an event is over maxEventSize", async () => {
    const source = streamOf([`data: ${"x".repeat(100)}\n\n`])
    await expect(
      readAll(source.pipeThrough(new SSEDecoderStream({ maxEventSize: 10 }))),
    ).rejects.toBeInstanceOf(ParseError)
  })
})

describe("SSEEncoderStream", () => {
  it("encodes events to UTF-8 bytes that the decoder reads back", async () => {
    const events: EventFields[] = [
      { id: "1", event: "token", data: "h\u00e9llo\nworld" },
      { comment: "ping" },
      { data: "" },
    ]
    const decoded = await readAll(
      streamOf(events).pipeThrough(new SSEEncoderStream()).pipeThrough(new SSEDecoderStream()),
    )
    expect(decoded).toEqual([
      { type: "token", data: "h\u00e9llo\nworld", lastEventId: "1" },
      { type: "message", data: "", lastEventId: "1" },
    ])
  })

  it("errors the stream on an event that would inject a field", async () => {
    const encoded = streamOf([{ event: "a\nb", data: "x" }]).pipeThrough(new SSEEncoderStream())
    await expect(readAll(encoded)).rejects.toThrowError(/must not contain/)
  })
})
