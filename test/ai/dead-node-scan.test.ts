import { describe, expect, it } from "vitest"
import { DeadNodeScan } from "../../src/ai/dead-node-scan.js"
import { markedGeneration } from "../../src/ai/running-marker.js"
import type { Engine, LogHead, LogList } from "../../src/engine/engine.js"
import { EngineUnavailableError } from "../../src/engine/unavailable.js"
import { recordingLogger } from "../server/helpers.js"

/** The running marker of generation `id`, owned by node `owner`. */
const open = (id: string, owner: string) =>
  ({ name: `ai/run/subject/${id}`, closed: false, config: { owner } }) as unknown as LogHead

/** A clear callback that records the generations it was handed. */
const recording = (cleared: string[]) => async (marker: LogHead) =>
  cleared.push(markedGeneration(marker.name)) > 0

/** The engine calls a scan makes, scripted: the live nodes of each look, and list() pages or failures. */
function scripted(looks: string[][], pages: (LogList | Error)[]) {
  const calls = { lists: 0 }
  const engine = {
    liveNodes: async () => looks.shift() ?? [],
    list: async () => {
      calls.lists++
      const page = pages.shift() ?? { logs: [] }
      if (page instanceof Error) throw page
      return page
    },
  } as unknown as Engine
  return { engine, calls }
}

describe("the dead-node scan", () => {
  it("scans on its first look and when a node is gone, not while every node it saw lives", async () => {
    const { engine, calls } = scripted(
      [["a"], ["a", "b"], ["b"]],
      [{ logs: [open("g1", "x"), open("g2", "a")] }, { logs: [open("g3", "a")] }],
    )
    const reaped: string[] = []
    const scan = new DeadNodeScan(engine, "self", recording(reaped), recordingLogger())
    await scan.tick()
    // First look: x holds no lease, a does.
    expect(reaped).toEqual(["g1"])
    await scan.tick()
    expect(calls.lists).toBe(1)
    await scan.tick()
    expect(reaped).toEqual(["g1", "g3"])
  })

  it("hands this node's own open generations to reap as well: reap tells a leftover from a running one", async () => {
    const { engine } = scripted([["self", "a"]], [{ logs: [open("mine", "self"), open("theirs", "a")] }])
    const reaped: string[] = []
    const scan = new DeadNodeScan(engine, "self", recording(reaped), recordingLogger())
    await scan.tick()
    expect(reaped).toEqual(["mine"])
  })

  it("scans again on the next tick when a scan failed, whether the listing or a close threw", async () => {
    const { engine, calls } = scripted(
      [["a"], [], [], []],
      [
        { logs: [] },
        new Error("the store is away"),
        { logs: [open("g1", "a"), open("g2", "a")] },
        { logs: [open("g2", "a")] },
      ],
    )
    const reaped: string[] = []
    const logger = recordingLogger()
    let failOnce = true
    const scan = new DeadNodeScan(
      engine,
      "self",
      async (marker) => {
        if (markedGeneration(marker.name) === "g1" && failOnce) {
          failOnce = false
          throw new Error("fenced write failed")
        }
        return recording(reaped)(marker)
      },
      logger,
    )
    await scan.tick() // first look, nothing open
    await scan.tick() // a is gone: the listing throws
    await scan.tick() // scans again: g1 fails, g2 is closed
    await scan.tick() // scans again
    expect(calls.lists).toBe(4)
    expect(reaped).toEqual(["g2", "g2"])
    expect(logger.entries.filter((entry) => entry.level === "warn")).toHaveLength(2)
  })

  it("scans on the next tick when asked to with every node alive, also when asked during a scan", async () => {
    const { engine, calls } = scripted(
      [["a"], ["a"], ["a"], ["a"], ["a"]],
      [{ logs: [] }, { logs: [open("left", "self")] }, { logs: [] }],
    )
    const cleared: string[] = []
    const scan = new DeadNodeScan(
      engine,
      "self",
      async (marker) => {
        // As when a generation of this node's ends with its log left open, mid-scan.
        scan.rescan()
        return recording(cleared)(marker)
      },
      recordingLogger(),
    )
    await scan.tick() // first look
    await scan.tick() // every node it saw lives: no listing
    expect(calls.lists).toBe(1)
    scan.rescan()
    await scan.tick()
    expect(cleared).toEqual(["left"])
    await scan.tick() // asked for during the last scan
    expect(calls.lists).toBe(3)
    await scan.tick()
    expect(calls.lists).toBe(3)
  })

  it("leaves a store out of reach to the engine's own log lines: a failed look is a debug line then, else a warning", async () => {
    const { engine } = scripted(
      [["a"], ["a"]],
      [new EngineUnavailableError("redis engine: 127.0.0.1:6390 is unreachable"), new Error("bug")],
    )
    const logger = recordingLogger()
    const scan = new DeadNodeScan(engine, "self", recording([]), logger)
    await scan.tick()
    await scan.tick() // a rescan, since the first failed
    expect(logger.entries.map((entry) => [entry.level, (entry.fields.err as Error).message])).toEqual([
      ["debug", "redis engine: 127.0.0.1:6390 is unreachable"],
      ["warn", "bug"],
    ])
  })
})
