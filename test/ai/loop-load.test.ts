import { describe, expect, it } from "vitest"
import { LoopLoad, type LoopTimes } from "../../src/ai/loop-load.js"

/** A loop whose busy share over each next stretch of 100 ms the test sets. */
function scriptedLoop() {
  let clock = 0
  let times: LoopTimes = { active: 0, idle: 0 }
  const load = new LoopLoad({ read: () => times, now: () => clock })
  return {
    load,
    /** 100 ms pass, `share` of them busy. */
    pass(share: number) {
      clock += 100
      times = { active: times.active + 100 * share, idle: times.idle + 100 * (1 - share) }
    },
  }
}

describe("LoopLoad", () => {
  it("calls the loop saturated from 90 % busy on, and until it falls below 75 %", () => {
    const { load, pass } = scriptedLoop()
    const readings = [0.5, 0.89, 0.95, 0.8, 0.76, 0.74, 0.85, 0.9].map((share) => {
      pass(share)
      return load.saturated()
    })
    expect(readings).toEqual([false, false, true, true, true, false, false, true])
  })

  it("reads again only once a sample's time has passed, and an idle stretch is not saturated", () => {
    let clock = 0
    let reads = 0
    const load = new LoopLoad({
      read: () => {
        reads++
        return { active: clock, idle: 0 }
      },
      now: () => clock,
    })
    clock = 50
    expect(load.saturated()).toBe(false)
    expect(reads).toBe(1)
    clock = 100
    expect(load.saturated()).toBe(true)
    expect(reads).toBe(2)
    // No time passed at all: the last answer stands.
    expect(load.saturated()).toBe(true)
    expect(reads).toBe(2)
  })

  it("reads the real loop by default", () => {
    expect(typeof new LoopLoad().saturated()).toBe("boolean")
  })
})
