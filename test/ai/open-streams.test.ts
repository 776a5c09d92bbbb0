import { describe, expect, it } from "vitest"
import { OpenStreams } from "../../src/ai/open-streams.js"

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
