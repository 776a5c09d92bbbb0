// What a failure inside the hub leaves behind: nothing. A delivery that throws ends the
// subscriber's stream (no silent stall); a failure after admission gives back the slot and the
// follower, answers 500, and is logged; the hub mounted alone keeps its own error boundary.

import type { RequestListener } from "node:http"
import { afterEach, describe, expect, it } from "vitest"
import type { Engine, Entry } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createHub, type Hub } from "../../src/hub/hub.js"
import { DEFAULT_HUB_LOG } from "../../src/hub/update-log.js"
import { listen, openStream, recordingLogger, stop, waitUntil } from "../server/helpers.js"
import { publish, SECRET, startHub, subscribeUrl, type TestHub, token } from "./hub-helpers.js"

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

/**
 * A memory engine that counts its live-feed watchers and, once `poison()` is called, hands
 * them entries that hold no update: decoding one throws, as a bug in delivery would.
 */
function faultyEngine(): { engine: Engine; listening: () => number; poison: () => void } {
  const engine = createMemoryEngine()
  const watch = engine.watch.bind(engine)
  let listening = 0
  let poisoned = false
  const broken = (entry: Entry): Entry => ({ ...entry, data: "not an update" })
  engine.watch = async (log, sink) => {
    listening++
    const off = await watch(log, {
      onAppend: (entries, closed) => sink.onAppend(poisoned ? entries.map(broken) : entries, closed),
      onLost: () => sink.onLost(),
    })
    let removed = false
    return () => {
      if (!removed) listening--
      removed = true
      off()
    }
  }
  const poison = () => {
    poisoned = true
  }
  return { engine, listening: () => listening, poison }
}

/** Resolves with `promise`, or fails naming `what` after `ms` (a bound for a test that would otherwise hang). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)
  })
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}

async function hubWith(
  engine: Engine,
): Promise<{ hub: TestHub; logger: ReturnType<typeof recordingLogger> }> {
  const logger = recordingLogger()
  const hub = await startHub({ engine, allowAnonymousSubscribe: true, logger })
  cleanups.push(() => hub.close())
  return { hub, logger }
}

describe("a delivery that throws", () => {
  it("closes the subscriber's stream (the client resumes) instead of leaving it open with heartbeats only", async () => {
    const { engine, listening, poison } = faultyEngine()
    const { hub, logger } = await hubWith(engine)
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]))
    await waitUntil(
      () => hub.hub.connections === 1,
      () => undefined,
    )
    poison()
    const bearer = await token(hub.hubUrl, { publish: ["*"] })
    expect((await publish(hub.hubUrl, { topic: "t", data: "x" }, bearer)).status).toBe(200)
    await within(stream.ended, 5000, "the stream's end")
    await waitUntil(
      () => hub.hub.connections === 0 && listening() === 0,
      () => undefined,
    )
    expect(logger.entries.map((entry) => entry.message)).toContain(
      "delivering an update failed; closing the subscriber's stream",
    )
  })
})

describe("a failure after admission", () => {
  /** A hub mounted alone on a server whose first 200 response head throws (as a bad header value would). */
  async function hubWhoseStreamHeadThrows() {
    const { engine, listening } = faultyEngine()
    const logger = recordingLogger()
    let hub: Hub | undefined
    const { server, url } = await listen(((request, response) => {
      const writeHead = response.writeHead.bind(response) as (...args: unknown[]) => typeof response
      response.writeHead = ((...args: unknown[]) => {
        if (args[0] === 200) throw new Error("injected: the stream's head cannot be written")
        return writeHead(...args)
      }) as typeof response.writeHead
      void hub?.handle(request, response)
    }) satisfies RequestListener)
    const key = { kind: "secret" as const, secret: SECRET }
    hub = createHub({
      engine,
      hubUrl: `${url}/.well-known/mercure`,
      publish: { keys: [key] },
      allowAnonymousSubscribe: true,
      heartbeatMs: 0,
      logger,
    })
    const running = hub
    cleanups.push(async () => {
      await running.close({ deadlineMs: 100 })
      await stop(server)
    })
    return { hub: running, url, listening, logger }
  }

  it("answers 500, gives the slot and the follower back, logs it, and the hub (mounted alone) serves on", async () => {
    const { hub, url, listening, logger } = await hubWhoseStreamHeadThrows()
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await fetch(`${url}/.well-known/mercure?match=t`)
      expect(response.status).toBe(500)
      expect(response.headers.get("content-type")).toBe("application/problem+json")
      expect(await response.json()).toMatchObject({ status: 500 })
      expect(hub.connections).toBe(0)
      expect(listening()).toBe(0)
    }
    expect(logger.entries.filter((entry) => entry.message === "request handler failed")).toHaveLength(3)
    expect(String(logger.entries[0]?.fields.err)).toContain("injected")
    expect(logger.entries[0]?.fields.path).toBe("/.well-known/mercure")
  })
})

describe("a store emptied under the subscribers (a Redis restarted without persistence)", () => {
  it("keeps their streams, tells each, and says so in one warning with their count, not one line each", async () => {
    const engine = createMemoryEngine()
    const { hub, logger } = await hubWith(engine)
    const bearer = await token(hub.hubUrl, { publish: ["*"] })
    expect((await publish(hub.hubUrl, { topic: "t", data: "before" }, bearer)).status).toBe(200)
    const streams = await Promise.all(
      [1, 2, 3].map(() => openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]))),
    )
    await waitUntil(
      () => hub.hub.connections === 3,
      () => undefined,
    )
    await engine.delete(DEFAULT_HUB_LOG)
    expect((await publish(hub.hubUrl, { topic: "t", data: "after" }, bearer)).status).toBe(200)
    for (const stream of streams) {
      const events = await stream.waitForEvents(2)
      expect(events.map((event) => [event.type, event.data])).toEqual([
        ["herald-id-too-old", JSON.stringify({ lastEventId: "earliest" })],
        ["message", "after"],
      ])
    }
    expect(hub.hub.connections).toBe(3)
    await waitUntil(
      () => logger.entries.some((entry) => entry.level === "warn"),
      () => undefined,
    )
    expect(logger.entries.filter((entry) => entry.level === "warn" || entry.level === "error")).toEqual([
      expect.objectContaining({
        fields: { subscribers: 3 },
        message: expect.stringMatching(/started over/),
      }),
    ])
    for (const stream of streams) stream.close()
  })
})
