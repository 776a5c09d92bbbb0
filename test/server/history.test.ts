import { describe, expect, it } from "vitest"
import { createEventHistory } from "../../src/server/history.js"

describe("createEventHistory", () => {
  it("replays the frames after a held id, in order", () => {
    const history = createEventHistory()
    for (const id of ["1", "2", "3"]) history.append(id, `frame ${id}`)
    expect(history.after("1")).toEqual({ found: true, frames: ["frame 2", "frame 3"] })
    expect(history.after("3")).toEqual({ found: true, frames: [] })
    expect(history.lastId).toBe("3")
  })

  it("answers an evicted or unknown id with found: false and the oldest id held", () => {
    const history = createEventHistory({ maxEvents: 2 })
    for (const id of ["1", "2", "3"]) history.append(id, id)
    expect(history.after("1")).toEqual({ found: false, oldestId: "2" })
    expect(history.after("nope")).toEqual({ found: false, oldestId: "2" })
    expect(history.size).toBe(2)
  })

  it("evicts by bytes but always keeps the newest event", () => {
    const history = createEventHistory({ maxBytes: 10 })
    history.append("a", "123456")
    history.append("b", "123456")
    expect(history.size).toBe(1)
    history.append("c", "x".repeat(50))
    expect(history.after("c")).toEqual({ found: true, frames: [] })
  })

  it("follows the newest use of a reused id, and survives compaction over many events", () => {
    const history = createEventHistory({ maxEvents: 3000 })
    for (let i = 0; i < 10_000; i++) history.append(String(i % 4000), `f${i}`)
    // Events 7000..9999 are held. Event 9999 carries id "1999"; id "1" last meant event 8001.
    expect(history.after("1999")).toEqual({ found: true, frames: [] })
    const replay = history.after("1")
    expect(replay.found && replay.frames.length).toBe(9999 - 8001)
    // Id "2999" last meant event 6999, which is evicted: the older use (2999) must not resurface.
    expect(history.after("2999")).toEqual({ found: false, oldestId: "3000" })
  })

  it("rejects nonsense limits with a clear error", () => {
    expect(() => createEventHistory({ maxEvents: 0 })).toThrow(/maxEvents must be a positive integer/)
  })
})
