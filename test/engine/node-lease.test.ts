// holdNodeLease on the memory engine with fake timers: taken at once, renewed every third of its
// TTL, "held for" restarting after a lapse, released on shutdown.
import { afterEach, describe, expect, it, vi } from "vitest"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { holdNodeLease } from "../../src/engine/node-lease.js"

function quietLogger() {
  return { warn: vi.fn(), info: vi.fn(), error: vi.fn(), debug: vi.fn() }
}

afterEach(() => {
  vi.useRealTimers()
})

describe("holdNodeLease", () => {
  it("takes the lease at once and keeps it renewed for as long as it runs", async () => {
    vi.useFakeTimers()
    const engine = createMemoryEngine()
    const renewals = vi.spyOn(engine, "holdLease")
    const lease = holdNodeLease(engine, "web-1", 3000, { logger: quietLogger() })
    await vi.advanceTimersByTimeAsync(0)
    expect(await engine.liveNodes()).toEqual(["web-1"])
    expect(lease.heldForMs()).toBe(0)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(await engine.liveNodes()).toEqual(["web-1"])
    expect(lease.heldForMs()).toBe(10_000)
    // Every third of the TTL: at 0, 1000, 2000, … 10 000.
    expect(renewals).toHaveBeenCalledTimes(11)
    await lease.release()
    expect(await engine.liveNodes()).toEqual([])
    expect(lease.heldForMs()).toBe(0)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(renewals).toHaveBeenCalledTimes(11)
    await engine.close()
  })

  it("counts a lapse as a new start, retries sooner while failing, and says so once", async () => {
    vi.useFakeTimers()
    const engine = createMemoryEngine()
    const logger = quietLogger()
    let down = false
    const hold = engine.holdLease.bind(engine)
    const renewals = vi.spyOn(engine, "holdLease").mockImplementation(async (node, ttlMs) => {
      if (down) throw new Error("store away")
      await hold(node, ttlMs)
    })
    const lease = holdNodeLease(engine, "web-1", 3000, { logger })
    await vi.advanceTimersByTimeAsync(6000)
    expect(lease.heldForMs()).toBe(6000)
    down = true
    const before = renewals.mock.calls.length
    await vi.advanceTimersByTimeAsync(1000)
    // Still valid until 3 s after the last renewal that went through.
    expect(lease.heldForMs()).toBe(7000)
    await vi.advanceTimersByTimeAsync(3000)
    expect(lease.heldForMs()).toBe(0)
    expect(await engine.liveNodes()).toEqual([])
    // Retried every tenth of the TTL once a renewal failed.
    expect(renewals.mock.calls.length - before).toBeGreaterThanOrEqual(10)
    expect(logger.warn).toHaveBeenCalledTimes(1)
    down = false
    await vi.advanceTimersByTimeAsync(300)
    expect(await engine.liveNodes()).toEqual(["web-1"])
    expect(lease.heldForMs()).toBeLessThanOrEqual(300)
    expect(logger.info).toHaveBeenCalledTimes(1)
    await lease.release()
    await engine.close()
  })

  it("refuses a bad node name or TTL", async () => {
    const engine = createMemoryEngine()
    expect(() => holdNodeLease(engine, "", 1000)).toThrow(/node/)
    expect(() => holdNodeLease(engine, "n", 0)).toThrow(/ttlMs/)
    await engine.close()
  })
})
