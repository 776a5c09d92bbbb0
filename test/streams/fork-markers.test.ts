// The records of a stream's forks (src/streams/fork.ts) carry the stream's log as their hash tag:
// on a Redis Cluster they live in the stream's slot; those of forks gone are swept as new forks come.
import { describe, expect, it } from "vitest"
import type { Engine } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { logKeys } from "../../src/engine/redis-keys.js"
import { markerOf } from "../../src/streams/fork.js"
import { logOf } from "../../src/streams/stream.js"
import { hashTag } from "../engine/hash-tag.js"
import { serveStreams } from "./serve-streams.js"

it("puts the markers of a stream's forks in the stream's Redis slot", () => {
  const source = "/v1/stream/chat/1"
  const sourceTag = hashTag(logKeys("herald", logOf(source)).meta)
  for (const fork of ["/v1/stream/chat/1-a", "/v1/stream/other/%7Bb%7D"]) {
    for (const key of Object.values(logKeys("herald", markerOf(source, fork)))) {
      expect(hashTag(key), key).toBe(sourceTag)
    }
  }
  expect(hashTag(logKeys("herald", markerOf("/v1/stream/chat/2", "/v1/stream/chat/1-a")).meta)).not.toBe(
    sourceTag,
  )
})

describe("stale markers", () => {
  it("are swept as new forks come: a source forked by forks that go and leave their markers keeps a bounded number of them", async () => {
    let now = Date.UTC(2026, 0, 1)
    const served = await serveStreams(createMemoryEngine({ now: () => now }))
    try {
      const source = `${served.baseUrl}/v1/stream/source`
      expect((await fetch(source, { method: "PUT" })).status).toBe(201)
      const fork = (name: string) =>
        fetch(`${served.baseUrl}/v1/stream/${name}`, {
          method: "PUT",
          headers: { "stream-forked-from": "/v1/stream/source" },
        })
      const markers = async () =>
        (await served.engine.list({ prefix: "streams-fork:", limit: 1000 })).logs.map((log) =>
          log.name.slice(log.name.lastIndexOf(" ") + 1),
        )
      // Three forks that live on, then forks whose logs go at once without their markers (as those
      // of expired forks did before markers expired with their forks), a fork every ten seconds.
      for (const name of ["kept-a", "kept-b", "kept-c"]) expect((await fork(name)).status).toBe(201)
      for (let i = 0; i < 60; i++) {
        const name = `brief-${String(i).padStart(2, "0")}`
        expect((await fork(name)).status).toBe(201)
        await served.engine.delete(logOf(`/v1/stream/${name}`))
        now += 10_000
      }
      const left = await markers()
      // Every live fork keeps its marker; of the 60 gone forks' markers, a few young ones at most.
      expect(left.filter((name) => name.includes("kept-"))).toHaveLength(3)
      expect(left.length).toBeLessThanOrEqual(3 + 10)
      // The three live forks still hold their deleted source: it is only soft-deleted.
      expect((await fetch(source, { method: "DELETE" })).status).toBe(204)
      expect((await fetch(`${served.baseUrl}/v1/stream/kept-a`)).status).toBe(200)
    } finally {
      await served.close()
    }
  })

  it("leaves a young marker whose fork is not made yet (a fork being created) alone", async () => {
    let now = Date.UTC(2026, 0, 1)
    const served = await serveStreams(createMemoryEngine({ now: () => now }))
    try {
      expect((await fetch(`${served.baseUrl}/v1/stream/source`, { method: "PUT" })).status).toBe(201)
      // A marker whose fork's log is not there yet: another node is between the two creates.
      await served.engine.create(markerOf("/v1/stream/source", "/v1/stream/coming"))
      now += 1_000
      const forked = await fetch(`${served.baseUrl}/v1/stream/next`, {
        method: "PUT",
        headers: { "stream-forked-from": "/v1/stream/source" },
      })
      expect(forked.status).toBe(201)
      const names = (await served.engine.list({ prefix: "streams-fork:", limit: 10 })).logs.map(
        (log) => log.name,
      )
      expect(names).toContain(markerOf("/v1/stream/source", "/v1/stream/coming"))
    } finally {
      await served.close()
    }
  })

  it("keeps the marker of a fork made again at an expired fork's path while a sweep looks at it", async () => {
    let now = Date.UTC(2026, 0, 1)
    const memory = createMemoryEngine({ now: () => now })
    const forkLog = logOf("/v1/stream/f")
    /** Set while the next look at f's log is to wait: called once it is reached. */
    let onLook: (() => void) | undefined
    let release: () => void = () => {}
    // The sweep's look at f's marker finds no fork, and waits there while f is made again.
    const engine = new Proxy(memory, {
      get(target, name) {
        if (name === "head")
          return async (log: string) => {
            const head = await target.head(log)
            const reached = onLook
            if (reached !== undefined && log === forkLog) {
              onLook = undefined
              await new Promise<void>((resolve) => {
                release = resolve
                reached()
              })
            }
            return head
          }
        const value = Reflect.get(target, name)
        return typeof value === "function" ? value.bind(target) : value
      },
    }) as Engine
    const served = await serveStreams(engine)
    try {
      const base = served.baseUrl
      const fork = (name: string, headers: Record<string, string> = {}) =>
        fetch(`${base}/v1/stream/${name}`, {
          method: "PUT",
          headers: { "stream-forked-from": "/v1/stream/source", ...headers },
        })
      expect((await fetch(`${base}/v1/stream/source`, { method: "PUT" })).status).toBe(201)
      // f expires; its marker, whose TTL is twice f's, is still there, past the sweep's grace.
      expect((await fork("f", { "stream-ttl": "100" })).status).toBe(201)
      now += 120_000
      const looked = new Promise<void>((reached) => {
        onLook = reached
      })
      const g = fork("g")
      await looked
      expect((await fork("f")).status).toBe(201)
      release()
      expect((await g).status).toBe(201)
      expect((await fetch(`${base}/v1/stream/g`, { method: "DELETE" })).status).toBe(204)
      // f reads from the source: deleting the source keeps it for f.
      expect((await fetch(`${base}/v1/stream/source`, { method: "DELETE" })).status).toBe(204)
      expect((await fetch(`${base}/v1/stream/f?offset=-1`)).status).toBe(200)
    } finally {
      await served.close()
    }
  })
})
