import { afterEach, describe, expect, it } from "vitest"
import type { Engine, ReadResult } from "../../src/engine/engine.js"
import type { FollowSource } from "../../src/engine/follow.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createReplayGate, ReplaysBusyError } from "../../src/hub/replay-gate.js"
import { openUpdateLog } from "../../src/hub/update-log.js"
import { openStream, type StreamReader, waitUntil } from "../server/helpers.js"
import { startHub, subscribeUrl, type TestHub } from "./hub-helpers.js"

let hub: TestHub | undefined
const streams: StreamReader[] = []
afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close()
  await hub?.close()
  hub = undefined
})

/** A memory engine holding one update, whose history reads wait until the test lets each go. */
async function engineWithHeldReads() {
  const engine = createMemoryEngine()
  await openUpdateLog(engine).append([{ topics: ["t"], data: "held", private: false, id: "first" }])
  const held: Array<() => void> = []
  const read = engine.read.bind(engine)
  engine.read = async (log, after, limit) => {
    await new Promise<void>((release) => held.push(release))
    return read(log, after, limit)
  }
  return { engine, held }
}

describe("replays after a reconnect storm", () => {
  it("runs at most maxConcurrentReplays history reads, queues the next, and asks the rest to come back later", async () => {
    const { engine, held } = await engineWithHeldReads()
    hub = await startHub({
      engine,
      allowAnonymousSubscribe: true,
      retryMs: 1000,
      shutdownRetryJitterMs: 500,
      limits: { maxConcurrentReplays: 2, maxQueuedReplays: 1 },
    })
    const resumeUrl = subscribeUrl(hub.hubUrl, [
      ["match", "t"],
      ["last_event_id", "earliest"],
    ])
    const resume = () => {
      const opened = openStream(resumeUrl)
      void opened.then((stream) => streams.push(stream))
      return opened
    }
    const running = [resume(), resume()]
    await waitUntil(
      () => held.length === 2,
      () => undefined,
    )
    const queued = resume()
    const metric = hub.hub.metrics.getSingleMetric("herald_replays_waiting")
    const waiting = async () => (await metric?.get())?.values[0]?.value
    for (let tries = 0; (await waiting()) !== 1; tries++) {
      expect(tries).toBeLessThan(1000)
      await new Promise((resolve) => setImmediate(resolve))
    }

    const refused = await resume()
    await refused.ended
    expect(refused.status).toBe(200)
    expect(refused.events).toEqual([])
    const comeBackIn = refused.retries.at(-1) as number
    expect(comeBackIn).toBeGreaterThanOrEqual(1000)
    expect(comeBackIn).toBeLessThanOrEqual(1500)
    const deferred = await hub.hub.metrics.getSingleMetric("herald_subscribes_deferred_total")?.get()
    expect(deferred?.values).toEqual([{ labels: { reason: "replays_busy" }, value: 1 }])
    // Still only the two first reads were let in.
    expect(held).toHaveLength(2)
    expect(hub.hub.connections).toBe(2 + 1)

    held[0]?.()
    await waitUntil(
      () => held.length === 3,
      () => undefined,
    )
    held[1]?.()
    held[2]?.()
    for (const stream of await Promise.all([...running, queued])) {
      expect((await stream.waitForEvents(1))[0]?.data).toBe("held")
    }
  })
})

describe("the replay gate", () => {
  it("lets a replay under way read its next page before replays that have not started", async () => {
    const order: string[] = []
    const releases: Array<() => void> = []
    const result: ReadResult = {
      held: true,
      after: "start",
      entries: [],
      more: false,
      tail: "",
      closed: false,
    }
    const heldRead = (name: string) => async () => {
      order.push(name)
      await new Promise<void>((release) => releases.push(release))
      return result
    }
    const engine = {
      read: (log: string, after: string) => heldRead(`${log} after ${after}`)(),
    } as unknown as Engine
    const gate = createReplayGate(engine, 1, 1)
    const [a, b, c]: FollowSource[] = [gate.forFollower(), gate.forFollower(), gate.forFollower()]
    const reads = [a?.read("a", "start", 1), b?.read("b", "start", 1), a?.read("a", "page 2", 1)]
    await expect(c?.read("c", "start", 1)).rejects.toBeInstanceOf(ReplaysBusyError)
    expect(gate.waiting).toBe(2)
    for (let step = 0; step < 3; step++) {
      await waitUntil(
        () => releases.length === step + 1,
        () => undefined,
      )
      releases[step]?.()
    }
    await Promise.all(reads)
    expect(order).toEqual(["a after start", "a after page 2", "b after start"])
    expect(gate.running).toBe(0)
  })
})
