import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { StoreDeadline } from "../../src/ai/store-deadline.js"

describe("StoreDeadline", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  const never = () => new Promise<never>(() => {})

  it("rejects an append that has no answer after the timeout, and not before", async () => {
    const deadline = new StoreDeadline(1000)
    const outcome = deadline.within(never()).then(
      () => "answered",
      (error: Error) => error.message,
    )
    await vi.advanceTimersByTimeAsync(999)
    expect(await Promise.race([outcome, Promise.resolve("pending")])).toBe("pending")
    await vi.advanceTimersByTimeAsync(1)
    expect(await outcome).toBe("no answer within 1000 ms")
  })

  it("gives each append its full timeout, though the one timer was armed by an earlier append", async () => {
    const deadline = new StoreDeadline(1000)
    expect(await deadline.within(Promise.resolve("first"))).toBe("first")
    await vi.advanceTimersByTimeAsync(900)
    const late = deadline.within(never()).catch((error: Error) => error.message)
    // The timer wakes at 1000, finds this append 100 ms old, and waits the 900 ms it has left.
    await vi.advanceTimersByTimeAsync(999)
    expect(await Promise.race([late, Promise.resolve("pending")])).toBe("pending")
    await vi.advanceTimersByTimeAsync(1)
    expect(await late).toBe("no answer within 1000 ms")
  })

  it("passes an append's own outcome on, and leaves no timer once disposed", async () => {
    const deadline = new StoreDeadline(1000)
    await expect(deadline.within(Promise.reject(new Error("refused")))).rejects.toThrow("refused")
    expect(await deadline.within(Promise.resolve(7))).toBe(7)
    expect(vi.getTimerCount()).toBe(1)
    deadline.dispose()
    expect(vi.getTimerCount()).toBe(0)
  })
})
