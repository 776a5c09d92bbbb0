import { describe, expect, it } from "vitest"
import { createFrameQueue } from "../../src/server/queue.js"

describe("createFrameQueue", () => {
  it("refuses a frame past the byte limit under the disconnect policy", () => {
    const queue = createFrameQueue({ maxBytes: 10, policy: "disconnect" })
    expect(queue.push("12345")).toBe(true)
    expect(queue.push("12345")).toBe(true)
    expect(queue.push("1")).toBe(false)
    expect(queue.length).toBe(2)
    expect(queue.bytes).toBe(10)
  })

  it("counts text by its UTF-8 bytes, as it goes on the wire", () => {
    const queue = createFrameQueue({ maxBytes: 10, policy: "disconnect" })
    expect(queue.push("語語")).toBe(true)
    expect(queue.push("é")).toBe(true)
    expect(queue.bytes).toBe(8)
    expect(queue.push("😀")).toBe(false)
    queue.shift()
    expect(queue.bytes).toBe(2)
  })

  it("drops the oldest frames to make room under drop-oldest", () => {
    const queue = createFrameQueue({ maxBytes: 10, policy: "drop-oldest" })
    for (const frame of ["aaaa", "bbbb", "cccc"]) expect(queue.push(frame)).toBe(true)
    expect(queue.length).toBe(2)
    expect([queue.shift(), queue.shift(), queue.shift()]).toEqual(["bbbb", "cccc", undefined])
    expect(queue.bytes).toBe(0)
  })

  it("keeps FIFO order and exact byte accounting over many pushes and shifts", () => {
    const queue = createFrameQueue({ maxBytes: 1_000_000, policy: "disconnect" })
    const taken: string[] = []
    for (let i = 0; i < 5000; i++) {
      queue.push(new Uint8Array(3))
      queue.push(String(i))
      const frame = queue.shift()
      if (typeof frame === "string") taken.push(frame)
    }
    while (queue.length > 0) {
      const frame = queue.shift()
      if (typeof frame === "string") taken.push(frame)
    }
    expect(taken).toEqual(Array.from({ length: 5000 }, (_, i) => String(i)))
    expect(queue.bytes).toBe(0)
  })
})
