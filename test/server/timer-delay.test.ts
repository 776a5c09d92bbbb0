/**
 * A timer holds at most 2^31 − 1 ms (about 24.8 days): past it Node fires after 1 ms, so a
 * heartbeat of 30 days would beat every millisecond. Every library option that becomes a timer's
 * delay refuses such a value, naming the option, instead.
 */
import { describe, expect, it } from "vitest"
import { createAIHandler } from "../../src/ai/handler.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { holdNodeLease } from "../../src/engine/node-lease.js"
import { createHub } from "../../src/hub/hub.js"
import { createSSE } from "../../src/server/index.js"
import { createStreamsHandler } from "../../src/streams/index.js"
import { MAX_TIMER_DELAY_MS } from "../../src/timer-delay.js"

const THIRTY_DAYS_MS = 30 * 86_400_000
const TOO_LONG = /must be at most 2147483647 ms \(about 24\.8 days\)/

describe("an option longer than a timer holds", () => {
  it("createSSE's heartbeatMs is refused; the longest a timer holds is taken", () => {
    expect(() => createSSE({ heartbeatMs: THIRTY_DAYS_MS })).toThrow(RangeError)
    expect(() => createSSE({ heartbeatMs: THIRTY_DAYS_MS })).toThrow(/^heartbeatMs must be at most/)
    expect(() => createSSE({ heartbeatMs: MAX_TIMER_DELAY_MS })).not.toThrow()
  })

  it("the hub's heartbeatMs and limits.bodyIdleTimeoutMs are refused", async () => {
    const engine = createMemoryEngine()
    expect(() => createHub({ engine, heartbeatMs: THIRTY_DAYS_MS })).toThrow(/heartbeatMs must be at most/)
    expect(() => createHub({ engine, limits: { bodyIdleTimeoutMs: THIRTY_DAYS_MS } })).toThrow(
      /limits\.bodyIdleTimeoutMs must be at most/,
    )
    await engine.close()
  })

  it("the streams handler's timed limits are refused", async () => {
    const engine = createMemoryEngine()
    for (const limit of ["bodyIdleTimeoutMs", "longPollTimeoutMs", "sseLifetimeMs"]) {
      expect(() => createStreamsHandler({ engine, limits: { [limit]: THIRTY_DAYS_MS } })).toThrow(
        new RegExp(`\`${limit}\` ${TOO_LONG.source}`),
      )
    }
    await engine.close()
  })

  it("the AI handler's bodyIdleTimeoutMs is refused", async () => {
    const engine = createMemoryEngine()
    expect(() => createAIHandler({ engine, bodyIdleTimeoutMs: THIRTY_DAYS_MS })).toThrow(
      /^bodyIdleTimeoutMs must be at most/,
    )
    await engine.close()
  })

  it("a node lease's ttlMs is refused: it would be renewed every millisecond", async () => {
    const engine = createMemoryEngine()
    expect(() => holdNodeLease(engine, "n", 100 * 86_400_000)).toThrow(
      new RegExp(`^ttlMs ${TOO_LONG.source}`),
    )
    await engine.close()
  })
})
