import { afterEach, describe, expect, it, vi } from "vitest"
import { createHeartbeat, HEARTBEAT_FRAME } from "../../src/server/index.js"

afterEach(() => {
  vi.useRealTimers()
})

describe("createHeartbeat", () => {
  it("beats every target from a single timer, whatever the number of targets", () => {
    vi.useFakeTimers()
    const written: string[][] = Array.from({ length: 1000 }, () => [])
    const targets = new Set(
      written.map((frames) => ({
        writeFrame(frame: string | Uint8Array) {
          frames.push(String(frame))
          return true
        },
      })),
    )
    const heartbeat = createHeartbeat(15_000, targets)
    heartbeat.start()
    heartbeat.start()
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(30_000)
    expect(written.every((frames) => frames.length === 2 && frames[0] === HEARTBEAT_FRAME)).toBe(true)
    heartbeat.stop()
    expect(vi.getTimerCount()).toBe(0)
    expect(heartbeat.running).toBe(false)
  })

  it("sees targets added after it started, and never runs when the interval is 0", () => {
    vi.useFakeTimers()
    const frames: unknown[] = []
    const targets = new Set<{ writeFrame(frame: string | Uint8Array): boolean }>()
    const heartbeat = createHeartbeat(100, targets)
    heartbeat.start()
    targets.add({ writeFrame: (frame) => frames.push(frame) > 0 })
    vi.advanceTimersByTime(100)
    expect(frames).toEqual([HEARTBEAT_FRAME])
    heartbeat.stop()
    const off = createHeartbeat(0, targets)
    off.start()
    expect(off.running).toBe(false)
  })
})

describe("createHeartbeat and backpressure", () => {
  it("skips a target whose writes are already waiting", () => {
    vi.useFakeTimers()
    const frames: unknown[] = []
    const heartbeat = createHeartbeat(10, [
      { backpressured: true, writeFrame: (frame) => frames.push(["busy", frame]) > 0 },
      { backpressured: false, writeFrame: (frame) => frames.push(["idle", frame]) > 0 },
    ])
    heartbeat.start()
    vi.advanceTimersByTime(10)
    heartbeat.stop()
    expect(frames).toEqual([["idle", HEARTBEAT_FRAME]])
  })
})
