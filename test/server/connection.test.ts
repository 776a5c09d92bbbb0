import { describe, expect, it } from "vitest"
import { type ConnectionSink, type Frame, SSEConnection } from "../../src/server/index.js"
import { recordingLogger } from "./helpers.js"

/** A transport that takes `capacity` frames before it reports backpressure, and drains on demand. */
function fakeSink(capacity: number) {
  const written: Frame[] = []
  let buffered = 0
  let drainListener: (() => void) | undefined
  const events: string[] = []
  const sink: ConnectionSink = {
    write(frame) {
      written.push(frame)
      buffered++
      return buffered < capacity
    },
    onceDrain(listener) {
      drainListener = listener
    },
    end: () => void events.push("end"),
    destroy: () => void events.push("destroy"),
  }
  const drain = () => {
    buffered = 0
    const listener = drainListener
    drainListener = undefined
    listener?.()
  }
  return { sink, written, events, drain }
}

const limits = { maxBytes: 10, policy: "disconnect" as const }

describe("SSEConnection", () => {
  it("queues behind backpressure and flushes in order on drain", async () => {
    const { sink, written, drain } = fakeSink(1)
    const connection = new SSEConnection(sink, { lastEventId: "", limits })
    expect(connection.writeFrame("a")).toBe(false)
    expect(connection.writeFrame("b")).toBe(false)
    expect(connection.queuedBytes).toBe(1)
    const writable = connection.whenWritable()
    drain()
    drain()
    await writable
    expect(written).toEqual(["a", "b"])
    expect(connection.backpressured).toBe(false)
  })

  it("closes with reason overflow when the queue is full, and drops the queue", () => {
    const { sink, events } = fakeSink(1)
    const connection = new SSEConnection(sink, { lastEventId: "", limits })
    connection.writeFrame("first")
    connection.writeFrame("12345")
    connection.writeFrame("67890")
    expect(connection.closed).toBe(false)
    connection.writeFrame("!")
    expect(connection.closeReason).toBe("overflow")
    expect(connection.queuedBytes).toBe(0)
    expect(events).toEqual(["destroy"])
  })

  it("close() still sends the queued frames, then ends", () => {
    const { sink, written, events } = fakeSink(1)
    const connection = new SSEConnection(sink, { lastEventId: "", limits })
    connection.writeFrame("a")
    connection.writeFrame("b")
    connection.close()
    expect(written).toEqual(["a", "b"])
    expect(events).toEqual(["end"])
    expect(connection.writeFrame("late")).toBe(false)
  })

  it("close() cuts a client that does not take the end within closeFlushMs; one that does is left alone", async () => {
    const stalled = fakeSink(1)
    const closing = new SSEConnection(stalled.sink, {
      lastEventId: "",
      limits: { ...limits, closeFlushMs: 50 },
    })
    let gone = false
    void closing.whenTransportClosed().then(() => {
      gone = true
    })
    closing.writeFrame("unread")
    closing.close()
    expect(stalled.events).toEqual(["end"])
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(stalled.events).toEqual(["end", "destroy"])
    expect(gone).toBe(true)

    const reading = fakeSink(10)
    const closed = new SSEConnection(reading.sink, {
      lastEventId: "",
      limits: { ...limits, closeFlushMs: 50 },
    })
    closed.close()
    // The adapter reports the transport gone once the end was sent.
    closed.destroy("client-gone")
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(reading.events).toEqual(["end"])
  })

  it("runs every close listener once, even when one throws (reported to the logger), and honours offClose", async () => {
    const { sink } = fakeSink(10)
    const logger = recordingLogger()
    const connection = new SSEConnection(sink, { lastEventId: "", limits, logger })
    const calls: string[] = []
    const removed = () => calls.push("removed")
    connection.onClose(() => {
      throw new Error("listener bug")
    })
    connection.onClose(removed)
    connection.onClose((reason, which) => calls.push(`${reason}:${which === connection}`))
    connection.offClose(removed)
    connection.destroy()
    connection.destroy()
    expect(calls).toEqual(["closed:true"])
    expect(logger.entries).toHaveLength(1)
    expect(logger.entries[0]?.level).toBe("error")
    expect(String(logger.entries[0]?.fields.err)).toBe("Error: listener bug")
    connection.onClose((reason) => calls.push(`late:${reason}`))
    await Promise.resolve()
    expect(calls).toEqual(["closed:true", "late:closed"])
    expect(connection.signal.aborted).toBe(true)
  })
})
