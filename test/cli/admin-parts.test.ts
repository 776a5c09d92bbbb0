// The pieces of the admin app: the rate history the chart draws, the census of nodes over the
// engine's signals, and the engine's status.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { engineStatus } from "../../src/cli/admin/engine-status.js"
import { createNodeCensus, type NodeFigures } from "../../src/cli/admin/node-census.js"
import { ProcessProbe } from "../../src/cli/admin/process-probe.js"
import { RateHistory } from "../../src/cli/admin/rate-history.js"
import type { Engine } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createSqliteEngine } from "../../src/engine/sqlite.js"
import { recordingLogger, waitUntil } from "../server/helpers.js"

describe("the rate history", () => {
  it("turns counters into rates per second over the real interval, and keeps the last ones", () => {
    const history = new RateHistory(3)
    expect(history.latest()).toEqual({ time: 0, in: 0, out: 0 })
    history.sample({ published: 10, delivered: 100 }, 1_000)
    expect(history.samples()).toEqual([])
    history.sample({ published: 15, delivered: 150 }, 2_000)
    // A late tick: 2 s since the last sample, so half the difference per second.
    history.sample({ published: 25, delivered: 190 }, 4_000)
    expect(history.samples()).toEqual([
      { time: 2_000, in: 5, out: 50 },
      { time: 4_000, in: 5, out: 20 },
    ])
    history.sample({ published: 25, delivered: 190 }, 5_000)
    history.sample({ published: 26, delivered: 193 }, 6_000)
    expect(history.samples().map((sample) => sample.time)).toEqual([4_000, 5_000, 6_000])
    expect(history.latest()).toEqual({ time: 6_000, in: 1, out: 3 })
    // A clock that went back is not a rate.
    history.sample({ published: 30, delivered: 200 }, 5_500)
    expect(history.latest().time).toBe(6_000)
  })
})

describe("the node census", () => {
  const figures = (node: string, connections: number): NodeFigures => ({
    node,
    connections,
    subscriptions: connections * 2,
    in: 1,
    out: connections,
    generations: 0,
  })

  it("lists every node sharing the engine once asked, this one first, and forgets the silent ones", async () => {
    // Two censuses on one engine: two nodes, as on a shared Redis.
    const engine = createMemoryEngine()
    let now = 1_000
    const clock = () => now
    const a = createNodeCensus(engine, () => figures("node-a", 3), recordingLogger(), clock)
    const b = createNodeCensus(engine, () => figures("node-b", 5), recordingLogger(), clock)
    expect(a.nodes()).toEqual([figures("node-a", 3)])
    a.ask()
    await waitUntil(
      () => a.nodes().length === 2,
      () => undefined,
    )
    expect(a.nodes()).toEqual([figures("node-a", 3), figures("node-b", 5)])
    // b heard a's answer too (answers go to every node).
    expect(b.nodes().map((each) => each.node)).toEqual(["node-b", "node-a"])
    b.stop()
    now += 10_000
    a.ask()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(a.nodes()).toEqual([figures("node-a", 3)])
    a.stop()
    await engine.close()
  })

  it("ignores answers it does not understand", async () => {
    const engine = createMemoryEngine()
    const census = createNodeCensus(engine, () => figures("node-a", 1), recordingLogger())
    await engine.signal({ topic: "herald.admin.figures", payload: "not json" })
    await engine.signal({
      topic: "herald.admin.figures",
      payload: JSON.stringify({ node: "x", connections: "many" }),
    })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(census.nodes().map((each) => each.node)).toEqual(["node-a"])
    census.stop()
    await engine.close()
  })
})

describe("the engine status", () => {
  const dir = mkdtempSync(join(tmpdir(), "herald-status-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("gives the sqlite file and its sizes, and a round trip", async () => {
    const path = join(dir, "herald.db")
    const engine = createSqliteEngine({ path })
    await engine.append("a-log", [{ data: "x".repeat(10_000) }], { create: {} })
    const status = await engineStatus(engine, path)
    expect(status.name).toBe("sqlite")
    expect(status.health).toMatchObject({ status: "up", latencyMs: expect.any(Number) })
    expect(status.file?.path).toBe(path)
    expect((status.file?.bytes ?? 0) + (status.file?.walBytes ?? 0)).toBeGreaterThan(10_000)
    await engine.close()
  })

  it("says down, and why, when the engine does not answer", async () => {
    const broken = {
      ...createMemoryEngine(),
      name: "memory",
      head: () => Promise.reject(new Error("the store is gone")),
    } as unknown as Engine
    expect(await engineStatus(broken, undefined)).toEqual({
      name: "memory",
      health: { status: "down", reason: "the store is gone" },
    })
  })

  it("uses the engine's own probe when it has one", async () => {
    const probed = Object.assign(createMemoryEngine(), {
      health: () => Promise.resolve({ status: "up" as const, latencyMs: 1.25 }),
    })
    expect((await engineStatus(probed, undefined)).health).toEqual({ status: "up", latencyMs: 1.25 })
    await probed.close()
  })
})

describe("the process probe", () => {
  it("reads memory at once, then CPU and event loop delay over each interval", async () => {
    const probe = new ProcessProbe(Date.now())
    expect(probe.latest()).toMatchObject({
      node: process.version,
      pid: process.pid,
      cpuPercent: 0,
      eventLoopDelayMs: 0,
    })
    expect(probe.latest().rssBytes).toBeGreaterThan(0)
    // Hold the loop and a core for a while: both show in the next sample.
    await new Promise((resolve) => setTimeout(resolve, 20))
    const until = Date.now() + 60
    while (Date.now() < until) {}
    await new Promise((resolve) => setTimeout(resolve, 20))
    probe.sample(Date.now())
    expect(probe.latest().cpuPercent).toBeGreaterThan(0)
    expect(probe.latest().eventLoopDelayMs).toBeGreaterThan(0)
    probe.stop()
  })
})
