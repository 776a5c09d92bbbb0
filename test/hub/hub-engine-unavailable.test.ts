// An engine that cannot reach its store (Redis down): publishes answer 503 with Retry-After and
// never a false 200, a new subscriber is told to come back, an open one keeps its stream and
// gets what is published once the store is back, and /readyz follows the engine's health. An
// engine whose disk is full: publishes answer 507 saying so, and the hub stays ready (reads work).

import { afterEach, describe, expect, it } from "vitest"
import type { Engine } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { engineReadiness } from "../../src/hub/engine-readiness.js"
import { FULL_PATH, switchableEngine } from "../engine/switchable-engine.js"
import { openStream, recordingLogger, waitUntil } from "../server/helpers.js"
import { publish, startHub, subscribeUrl, type TestHub, token } from "./hub-helpers.js"

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

async function hubOn(engine: Engine, logger = recordingLogger()): Promise<TestHub> {
  const hub = await startHub({ engine, allowAnonymousSubscribe: true, retryMs: 2500, logger })
  cleanups.push(() => hub.close())
  return hub
}

describe("the hub while its engine is unavailable", () => {
  it("answers every kind of publish 503 with Retry-After and a problem naming the engine, then 200 once it is back", async () => {
    const { engine, setDown } = switchableEngine()
    const hub = await hubOn(engine)
    const bearer = await token(hub.hubUrl, { publish: ["*"] })
    const origin = new URL(hub.hubUrl).origin
    const batch = (body: string, type: string) =>
      fetch(`${origin}/herald/v1/publish`, {
        method: "POST",
        headers: { authorization: `Bearer ${bearer}`, "content-type": type },
        body,
      })
    setDown(true)
    const answers = [
      await publish(hub.hubUrl, { topic: "t", data: "form" }, bearer),
      await batch(JSON.stringify([{ topic: "t", data: "json" }]), "application/json"),
      await batch(`${JSON.stringify({ topic: "t", data: "ndjson" })}\n`, "application/x-ndjson"),
    ]
    for (const response of answers) {
      expect(response.status).toBe(503)
      expect(response.headers.get("retry-after")).toBe("3")
      expect(response.headers.get("content-type")).toBe("application/problem+json")
      const problem = (await response.json()) as { detail: string; status: number }
      expect(problem.status).toBe(503)
      expect(problem.detail).toContain("memory engine is unavailable")
      expect(problem.detail).toContain("nothing was acknowledged")
    }
    setDown(false)
    expect((await publish(hub.hubUrl, { topic: "t", data: "back" }, bearer)).status).toBe(200)
  })

  it("tells a publisher whose publish's answer was lost that it may have been stored, form or batch", async () => {
    const { engine, setDown } = switchableEngine()
    const hub = await hubOn(engine)
    const bearer = await token(hub.hubUrl, { publish: ["*"] })
    setDown(true, true)
    const answers = [
      await publish(hub.hubUrl, { topic: "t", data: "form" }, bearer),
      await fetch(`${new URL(hub.hubUrl).origin}/herald/v1/publish`, {
        method: "POST",
        headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
        body: JSON.stringify([{ topic: "t", data: "json" }]),
      }),
    ]
    for (const response of answers) {
      expect(response.status).toBe(503)
      const { detail } = (await response.json()) as { detail: string }
      expect(detail).toContain("its answer was lost, so the update may have been stored")
      expect(detail).toContain("publishing it again may deliver it twice")
      expect(detail).not.toContain("nothing was acknowledged")
    }
  })

  it("tells a streaming publish that stopped midway which updates were stored", async () => {
    const { engine, setDown } = switchableEngine()
    const hub = await hubOn(engine)
    const bearer = await token(hub.hubUrl, { publish: ["*"] })
    let push: (line: string | undefined) => void = () => {}
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (line) =>
          line === undefined ? controller.close() : controller.enqueue(new TextEncoder().encode(line))
      },
    })
    const answer = fetch(`${new URL(hub.hubUrl).origin}/herald/v1/publish`, {
      method: "POST",
      headers: { authorization: `Bearer ${bearer}`, "content-type": "application/x-ndjson" },
      body,
      duplex: "half",
    } as RequestInit)
    const stored = engine.append.bind(engine)
    let appends = 0
    engine.append = async (...args) => {
      const result = await stored(...args)
      appends++
      return result
    }
    push(`${JSON.stringify({ topic: "t", data: "1", id: "one" })}\n`)
    await waitUntil(
      () => appends === 1,
      () => undefined,
    )
    setDown(true)
    push(`${JSON.stringify({ topic: "t", data: "2", id: "two" })}\n`)
    push(undefined)
    const response = await answer
    expect(response.status).toBe(503)
    expect(response.headers.get("retry-after")).toBe("3")
    expect(await response.json()).toMatchObject({ status: 503, ids: ["one"] })
  })

  it("tells a new subscriber to come back, and keeps an open one, which gets what is published after", async () => {
    const { engine, setDown } = switchableEngine()
    const hub = await hubOn(engine)
    const bearer = await token(hub.hubUrl, { publish: ["*"] })
    const url = subscribeUrl(hub.hubUrl, [["match", "t"]])
    const open = await openStream(url)
    expect(open.status).toBe(200)
    setDown(true)
    const refused = await openStream(url)
    expect(refused.status).toBe(200)
    await refused.ended
    // The stream's opening retry, then the one drawn for this client: --retry plus jitter.
    expect(refused.retries.at(-1)).toBeGreaterThanOrEqual(2500)
    expect(refused.events).toEqual([])
    expect((await publish(hub.hubUrl, { topic: "t", data: "lost?" }, bearer)).status).toBe(503)
    setDown(false)
    expect((await publish(hub.hubUrl, { topic: "t", data: "after" }, bearer)).status).toBe(200)
    expect((await open.waitForEvents(1)).map((event) => event.data)).toEqual(["after"])
    open.close()
  })

  it("counts the subscribers told to come back in herald_subscribes_deferred_total, and warns once for a burst of them", async () => {
    const { engine, setDown } = switchableEngine()
    const logger = recordingLogger()
    const hub = await hubOn(engine, logger)
    const url = subscribeUrl(hub.hubUrl, [["match", "t"]])
    setDown(true)
    for (let client = 0; client < 5; client++) await (await openStream(url)).ended
    const deferred = /^herald_subscribes_deferred_total\{reason="engine_unavailable"\} (\d+)$/m.exec(
      await (await fetch(`${hub.origin}/metrics`)).text(),
    )?.[1]
    expect(deferred).toBe("5")
    // One line now; the next ones are counted into one every 30 s (logger.test.ts).
    expect(
      logger.entries
        .filter((entry) => entry.level === "warn")
        .map((entry) => [entry.message, entry.fields.client]),
    ).toEqual([["the engine is unavailable; a subscriber is told to come back", expect.any(String)]])
  })

  it("says so on /readyz and in herald_engine_up while the engine's health is down, and is ready again without a restart", async () => {
    const { engine, setDown } = switchableEngine()
    const hub = await hubOn(engine)
    const readyz = async () => {
      const response = await fetch(`${hub.origin}/readyz`)
      return { status: response.status, text: await response.text() }
    }
    const engineUp = async () =>
      /^herald_engine_up (\d)$/m.exec(await (await fetch(`${hub.origin}/metrics`)).text())?.[1]
    expect((await readyz()).status).toBe(200)
    expect(await engineUp()).toBe("1")
    setDown(true)
    // The answer is cached for a second: wait for the next probe to see it (bounded).
    let answer = await readyz()
    for (let i = 0; i < 40 && answer.status === 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      answer = await readyz()
    }
    expect(answer).toEqual({ status: 503, text: "the memory engine is unavailable: the store is away" })
    expect(await engineUp()).toBe("0")
    setDown(false)
    for (let i = 0; i < 40 && answer.status === 503; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      answer = await readyz()
    }
    expect(answer).toEqual({ status: 200, text: "ready" })
    expect(await engineUp()).toBe("1")
  })
})

describe("the hub while its engine's disk is full", () => {
  it("answers every kind of publish 507 naming the full disk, stays ready for subscribers, says it in herald_engine_full, and takes publishes again once there is room", async () => {
    const { engine, setFull } = switchableEngine()
    const hub = await hubOn(engine)
    const bearer = await token(hub.hubUrl, { publish: ["*"] })
    const batch = (body: string, type: string) =>
      fetch(`${hub.origin}/herald/v1/publish`, {
        method: "POST",
        headers: { authorization: `Bearer ${bearer}`, "content-type": type },
        body,
      })
    const gauge = async (name: string) =>
      new RegExp(`^${name} (\\d)$`, "m").exec(await (await fetch(`${hub.origin}/metrics`)).text())?.[1]
    expect((await publish(hub.hubUrl, { topic: "t", data: "before" }, bearer)).status).toBe(200)
    expect(await gauge("herald_engine_full")).toBe("0")
    setFull(true)
    const answers = [
      await publish(hub.hubUrl, { topic: "t", data: "form" }, bearer),
      await batch(JSON.stringify([{ topic: "t", data: "json" }]), "application/json"),
      await batch(`${JSON.stringify({ topic: "t", data: "ndjson" })}\n`, "application/x-ndjson"),
    ]
    for (const response of answers) {
      expect(response.status).toBe(507)
      expect(response.headers.get("retry-after")).toBeNull()
      const problem = (await response.json()) as { title: string; detail: string }
      expect(problem.title).toBe("Insufficient Storage")
      expect(problem.detail).toContain(`the disk holding ${FULL_PATH} is full, so nothing was stored`)
      expect(problem.detail).toContain("--retention-max-events")
    }
    // Reads work: a subscriber still gets the history, and the node stays in its load balancer.
    const open = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["match", "t"],
        ["lastEventID", "earliest"],
      ]),
    )
    expect((await open.waitForEvents(1)).map((event) => event.data)).toEqual(["before"])
    open.close()
    // The readiness answer is cached for a second: wait for the next probe to see it (bounded).
    let full = await gauge("herald_engine_full")
    for (let i = 0; i < 40 && full === "0"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      full = await gauge("herald_engine_full")
    }
    expect(full).toBe("1")
    expect(await gauge("herald_engine_up")).toBe("1")
    // Ready (reads are served), and saying what is full: an operator looking at the probe learns why publishes fail.
    const readyz = await fetch(`${hub.origin}/readyz`)
    expect({ status: readyz.status, text: await readyz.text() }).toEqual({
      status: 200,
      text: `ready, but writes fail: the memory engine is full: the disk holding ${FULL_PATH} is full`,
    })
    setFull(false)
    expect((await publish(hub.hubUrl, { topic: "t", data: "after" }, bearer)).status).toBe(200)
  })
})

describe("engineReadiness", () => {
  it("probes the engine's health once per period, however many ask", async () => {
    const { engine, setDown, probes } = switchableEngine()
    let clock = 0
    const ready = engineReadiness(engine, "log", 1000, () => clock)
    expect(await Promise.all([ready(), ready(), ready()])).toEqual([{}, {}, {}])
    expect(probes()).toBe(1)
    setDown(true)
    clock = 999
    expect(await ready()).toEqual({})
    clock = 2000
    expect(await ready()).toEqual({ problem: "the memory engine is unavailable: the store is away" })
    expect(probes()).toBe(2)
  })

  it("tells a full engine from one that cannot serve: it serves", async () => {
    const { engine, setFull } = switchableEngine()
    setFull(true)
    expect(await engineReadiness(engine, "log")()).toEqual({
      full: `the memory engine is full: the disk holding ${FULL_PATH} is full`,
    })
  })

  it("asks an engine without the health capability for a head", async () => {
    const engine: Engine = createMemoryEngine()
    // The memory engine has the capability: taken away, it is an engine without it.
    Object.assign(engine, { health: undefined })
    const head = engine.head.bind(engine)
    let fail = false
    engine.head = (log) => (fail ? Promise.reject(new Error("disk gone")) : head(log))
    let clock = 0
    const ready = engineReadiness(engine, "log", 1000, () => clock)
    expect(await ready()).toEqual({})
    fail = true
    clock = 5000
    expect(await ready()).toEqual({ problem: "the memory engine does not answer: disk gone" })
  })
})
