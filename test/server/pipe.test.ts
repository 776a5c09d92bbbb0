import v8 from "node:v8"
import vm from "node:vm"
import { afterEach, describe, expect, it } from "vitest"
import { createSSE, type SSEConnection } from "../../src/server/index.js"
import { pipeSource } from "../../src/server/pipe.js"
import { listen, openStream, stop, waitUntil } from "./helpers.js"

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

async function serve(onConnection: (connection: SSEConnection) => void) {
  const sse = createSSE()
  const { server, url } = await listen((req, res) => onConnection(sse.connect(req, res)))
  cleanups.push(() => stop(server))
  cleanups.push(() => sse.close({ deadlineMs: 100 }))
  return url
}

describe("SSEConnection.pipe", () => {
  it("streams an async iterable of events and strings, then resolves", async () => {
    let piped: Promise<void> | undefined
    const url = await serve((connection) => {
      piped = connection.pipe(
        (async function* () {
          yield "first"
          yield { event: "token", data: "second", id: "2" }
        })(),
      )
    })
    const stream = await openStream(url)
    expect(await stream.waitForEvents(2)).toEqual([
      { type: "message", data: "first", lastEventId: "" },
      { type: "token", data: "second", lastEventId: "2" },
    ])
    await piped
    stream.close()
  })

  it("cancels a ReadableStream source when the client goes away", async () => {
    let cancelled: unknown
    let piped: Promise<void> | undefined
    const url = await serve((connection) => {
      let n = 0
      const source = new ReadableStream<string>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 5))
          controller.enqueue(`token ${n++}`)
        },
        cancel(reason) {
          cancelled = reason ?? "cancelled"
        },
      })
      piped = connection.pipe(source)
    })
    const stream = await openStream(url)
    await stream.waitForEvents(3)
    stream.close()
    await waitUntil(
      () => cancelled !== undefined,
      () => undefined,
    )
    await piped
  })

  it("resolves when the client goes away while the source waits on a stalled upstream", async () => {
    let piped: Promise<void> | undefined
    let stalled: (error: Error) => void = () => {}
    const url = await serve((connection) => {
      piped = connection.pipe(
        (async function* () {
          yield "first"
          // An upstream that never answers, until the test fails it at the end.
          await new Promise((_resolve, reject) => {
            stalled = reject
          })
        })(),
      )
    })
    const stream = await openStream(url)
    await stream.waitForEvents(1)
    stream.close()
    const outcome = await Promise.race([
      (piped as Promise<void>).then(() => "resolved"),
      new Promise((resolve) => setTimeout(() => resolve("still pending"), 2000)),
    ])
    expect(outcome).toBe("resolved")
    // The abandoned step's failure is nobody's: no unhandled rejection.
    stalled(new Error("upstream reset"))
    await new Promise((resolve) => setTimeout(resolve, 10))
  })

  it("stops an async generator (its finally runs) when the client goes away", async () => {
    let cleanedUp = false
    const url = await serve((connection) => {
      void connection.pipe(
        (async function* () {
          try {
            for (let i = 0; ; i++) {
              await new Promise((resolve) => setTimeout(resolve, 5))
              yield `token ${i}`
            }
          } finally {
            cleanedUp = true
          }
        })(),
      )
    })
    const stream = await openStream(url)
    await stream.waitForEvents(2)
    stream.close()
    await waitUntil(
      () => cleanedUp,
      () => undefined,
    )
  })

  it("rejects when the source fails, leaving the connection open for an error event", async () => {
    let outcome: unknown
    const url = await serve((connection) => {
      connection
        .pipe(
          (async function* () {
            yield "partial"
            throw new Error("upstream broke")
          })(),
        )
        .catch((error: Error) => {
          outcome = error.message
          connection.send({ event: "error", data: error.message })
        })
    })
    const stream = await openStream(url)
    const events = await stream.waitForEvents(2)
    expect(events.map((event) => event.type)).toEqual(["message", "error"])
    expect(outcome).toBe("upstream broke")
    stream.close()
  })

  it("waits for a slow reader instead of queueing without bound", async () => {
    let connectionRef: SSEConnection | undefined
    let produced = 0
    const url = await serve((connection) => {
      connectionRef = connection
      void connection.pipe(
        (function* () {
          for (; produced < 5000; produced++) yield { data: "z".repeat(4096) }
        })(),
      )
    })
    const stream = await openStream(url)
    await stream.waitForEvents(5000)
    expect(connectionRef?.closed).toBe(false)
    stream.close()
  })

  it("holds none of the events it has sent while the pipe goes on", async () => {
    v8.setFlagsFromString("--expose-gc")
    const gc = vm.runInNewContext("gc") as () => void
    const count = 50_000
    let produced = 0
    let release: () => void = () => {}
    const stalled = new Promise<void>((resolve) => {
      release = resolve
    })
    async function* source() {
      for (let i = 0; i < count; i++) {
        produced++
        yield `${"x".repeat(1000)}${i}`
      }
      // The upstream goes quiet while the client stays.
      await stalled
    }
    const target = {
      closed: false,
      send: () => true,
      whenWritable: async () => {},
      onClose: () => {},
      offClose: () => {},
    }
    gc()
    const before = process.memoryUsage().heapUsed
    const piped = pipeSource(target, source())
    while (produced < count) await new Promise((resolve) => setImmediate(resolve))
    gc()
    gc()
    const held = process.memoryUsage().heapUsed - before
    release()
    await piped
    // 50 MB went through: what stays is the pipe's own few objects, not the events.
    expect(held).toBeLessThan(8 * 1024 * 1024)
  })

  it("resolves when the source's first synchronous part closes the connection and then waits on a stalled upstream", async () => {
    let leave: () => void = () => {}
    const target = {
      closed: false,
      send: () => true,
      whenWritable: async () => {},
      onClose: (listener: () => void) => {
        leave = listener
      },
      offClose: () => {},
    }
    async function* source() {
      // Before its first await: as a send over the queue's bound would, the connection closes.
      target.closed = true
      leave()
      await new Promise(() => {})
      yield "never"
    }
    const outcome = await Promise.race([
      pipeSource(target, source()).then(() => "resolved"),
      new Promise((resolve) => setTimeout(() => resolve("still pending"), 1000)),
    ])
    expect(outcome).toBe("resolved")
  })
})
