import { type AddressInfo, connect, createServer } from "node:net"
import { describe, expect, it } from "vitest"
import { OpenStreams } from "../../src/ai/open-streams.js"
import type { Engine } from "../../src/engine/engine.js"
import type { EngineHealth, HealthCapability } from "../../src/engine/health.js"
import { createMemoryEngine } from "../../src/engine/memory.js"

describe("OpenStreams at shutdown", () => {
  it("interrupts only the streams still open after the grace, and at once one opened during the shutdown", async () => {
    const streams = new OpenStreams()
    const interrupted: string[] = []
    const leaving = streams.add(() => interrupted.push("leaving"))
    streams.add(() => interrupted.push("staying"))
    const closing = streams.interruptAll(200)
    // Its follower delivered the end just stored: it leaves by itself within the grace.
    setTimeout(leaving, 20)
    streams.add(() => interrupted.push("late"))
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(interrupted).toEqual(["late"])
    await closing
    expect(interrupted).toEqual(["late", "staying"])
  })

  it("does not wait when every stream left before the grace ends", async () => {
    const streams = new OpenStreams()
    const leave = streams.add(() => {
      throw new Error("not to be interrupted")
    })
    const started = Date.now()
    const closing = streams.interruptAll(10_000)
    leave()
    await closing
    expect(Date.now() - started).toBeLessThan(5_000)
  })
})

describe("OpenStreams while the store does not answer", () => {
  /** A memory engine whose health probes answer as `answer` says, counted. */
  function probed(answer: () => Promise<EngineHealth>) {
    const engine = createMemoryEngine() as Engine & HealthCapability
    let probes = 0
    engine.health = () => {
      probes++
      return answer()
    }
    return { engine, probes: () => probes }
  }
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  it("interrupts every open stream once, as store-failed, when its probes go unanswered for the bound", async () => {
    const { engine } = probed(() => new Promise(() => {}))
    const streams = new OpenStreams({ engine, boundMs: 200 })
    const interrupted: string[] = []
    const leaves = ["a", "b"].map((name) => streams.add((why) => interrupted.push(`${name} ${why}`)))
    await sleep(60)
    expect(interrupted).toEqual([])
    await sleep(500)
    expect(interrupted).toEqual(["a store-failed", "b store-failed"])
    for (const leave of leaves) leave()
    await streams.interruptAll(0)
  })

  it("takes a stall of this process for no outage: the store's answer, read after the stall, is heard", async () => {
    // An echo over loopback TCP: the probe's answer comes in the event loop's poll phase, after
    // the timers that a stall made late.
    const echo = createServer((socket) => socket.pipe(socket))
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve))
    const client = connect((echo.address() as AddressInfo).port, "127.0.0.1")
    await new Promise((resolve) => client.once("connect", resolve))
    let stalled = false
    const { engine } = probed(async () => {
      client.write("?")
      if (!stalled) {
        stalled = true
        // Busy longer than the bound right after the probe left.
        setImmediate(() => {
          const until = performance.now() + 350
          while (performance.now() < until) {}
        })
      }
      await new Promise((resolve) => client.once("data", resolve))
      return { status: "up", latencyMs: 0 }
    })
    const streams = new OpenStreams({ engine, boundMs: 300 })
    const interrupted: string[] = []
    const leave = streams.add((why) => interrupted.push(why))
    try {
      await sleep(900)
      expect(stalled).toBe(true)
      expect(interrupted).toEqual([])
    } finally {
      leave()
      await streams.interruptAll(0)
      client.destroy()
      await new Promise((resolve) => echo.close(resolve))
    }
  })

  it("leaves them open while the store answers, down only for less than the bound, and probes nothing with no stream open", async () => {
    let down = false
    const { engine, probes } = probed(async () =>
      down ? { status: "down", reason: "away" } : { status: "up", latencyMs: 0 },
    )
    // Probed every 200 ms: the first probe finds it down, the next one up again.
    const streams = new OpenStreams({ engine, boundMs: 400 })
    const interrupted: string[] = []
    const leave = streams.add((why) => interrupted.push(why))
    down = true
    await sleep(250)
    down = false
    await sleep(500)
    expect(probes()).toBeGreaterThan(2)
    expect(interrupted).toEqual([])
    leave()
    const after = probes()
    await sleep(400)
    expect(probes()).toBe(after)
    await streams.interruptAll(0)
  })
})
