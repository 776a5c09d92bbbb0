// `herald serve --engine redis://…` as a process, on a redis-server of its own (AOF, fsync always)
// that the test kills and starts again: publishes answer 503 with Retry-After while Redis is away
// (never a false 200), /readyz follows, an open subscriber keeps its stream and gets every update
// acknowledged after Redis is back, exactly once, and the node gives its lease up on SIGTERM.

import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RedisServer, redisServerInstalled, STRICT, startRedis } from "../engine/redis-servers.js"
import { openStream } from "../server/helpers.js"
import { startHub, tempCwd, useCliProcesses } from "./cli-helpers.js"

useCliProcesses()

const installed = await redisServerInstalled()

/** Polls `attempt` every 100 ms until it returns a value, at most `times` times. */
async function eventually<T>(times: number, attempt: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < times; i++) {
    const value = await attempt()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`no success after ${times} attempts`)
}

describe.skipIf(!installed && !STRICT)("herald serve on Redis", () => {
  let redis: RedisServer
  beforeAll(async () => {
    redis = await startRedis({ aof: true })
  })
  afterAll(async () => {
    await redis?.destroy()
  })

  it("has redis-server installed (HERALD_TEST_STRICT=1)", () => {
    expect(installed, "redis-server is not installed").toBe(true)
  })

  it("rides out Redis going away: 503 + Retry-After, /readyz 503, the subscriber kept; back without a restart", async () => {
    // A password Redis does not ask for is accepted (with a warning): it must reach no log.
    const url = redis.url.replace("redis://", "redis://:never-logged@")
    const hub = await startHub(
      ["--engine", url, "--port", "0", "--node-id", "node-a", "--heartbeat", "300ms", "--retry", "1s"],
      { cwd: tempCwd() },
    )
    expect(hub.stdout()).toContain(`"engine":"${redis.url.replace("redis://", "redis://:***@")}"`)
    expect(hub.stdout()).toContain('"node":"node-a"')
    const origin = new URL(hub.hubUrl).origin
    const topic = "https://example.com/outage"
    const publishForm = (data: string) =>
      fetch(hub.hubUrl, { method: "POST", body: new URLSearchParams({ topic, data, id: data }) })
    const publishBatch = (data: string, type: "application/json" | "application/x-ndjson") =>
      fetch(`${origin}/herald/v1/publish`, {
        method: "POST",
        headers: { "content-type": type },
        body:
          type === "application/json"
            ? JSON.stringify([{ topic, data, id: data }])
            : `${JSON.stringify({ topic, data, id: data })}\n`,
      })
    const readyz = async () => {
      const response = await fetch(`${origin}/readyz`)
      return { status: response.status, text: await response.text() }
    }

    const stream = await openStream(`${hub.hubUrl}?match=${encodeURIComponent(topic)}`)
    expect(stream.status).toBe(200)
    expect((await publishForm("before")).status).toBe(200)
    expect((await stream.waitForEvents(1)).map((event) => event.data)).toEqual(["before"])
    expect((await readyz()).status).toBe(200)

    await redis.stop()
    const refused = [
      await publishForm("form-while-away"),
      await publishBatch("json-while-away", "application/json"),
      await publishBatch("ndjson-while-away", "application/x-ndjson"),
    ]
    for (const response of refused) {
      expect(response.status).toBe(503)
      expect(response.headers.get("retry-after")).toBe("1")
      expect(response.headers.get("content-type")).toBe("application/problem+json")
      expect(((await response.json()) as { detail: string }).detail).toContain("redis engine is unavailable")
    }
    const notReady = await eventually(30, async () => {
      const answer = await readyz()
      return answer.status === 503 ? answer : undefined
    })
    expect(notReady.text).toMatch(/^the redis engine is unavailable: /)
    // Still connected: heartbeats go on while Redis is away.
    const comments = stream.comments.length
    await stream.waitForComments(comments + 2)

    await redis.start()
    // Publish until Redis answers again; every answer is a 503 or a 200 that was stored.
    const acknowledged: string[] = []
    let unavailable = 0
    await eventually(100, async () => {
      const data = `after-${acknowledged.length + unavailable}`
      const response = await publishForm(data)
      if (response.status === 503) unavailable++
      else {
        expect(response.status).toBe(200)
        acknowledged.push(data)
      }
      return acknowledged.length > 0 ? true : undefined
    })
    for (const data of ["after-json", "after-ndjson"]) {
      const type = data === "after-json" ? "application/json" : "application/x-ndjson"
      expect((await publishBatch(data, type)).status).toBe(200)
      acknowledged.push(data)
    }
    const expected = ["before", ...acknowledged]
    await stream.waitForEvents(expected.length)
    // Give a duplicate the time to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(stream.events.map((event) => event.data)).toEqual(expected)
    expect(stream.events.map((event) => event.lastEventId)).toEqual(expected)
    await eventually(30, async () => ((await readyz()).status === 200 ? true : undefined))

    // What was acknowledged before the outage survived it (AOF): a resume from its id gets the rest.
    const resumed = await openStream(`${hub.hubUrl}?match=${encodeURIComponent(topic)}&lastEventID=before`)
    expect(resumed.headers["mercure-last-event-id"]).toBe("before")
    expect((await resumed.waitForEvents(acknowledged.length)).map((event) => event.data)).toEqual(
      acknowledged,
    )
    resumed.close()

    const client = new Redis(redis.url, { maxRetriesPerRequest: 0 })
    try {
      expect(await client.zscore("herald:leases", "node-a")).not.toBeNull()
      hub.child.kill("SIGTERM")
      expect(await hub.exited).toBe(0)
      expect(await client.zscore("herald:leases", "node-a")).toBeNull()
    } finally {
      client.disconnect()
    }
    expect(hub.stdout() + hub.stderr()).not.toContain("never-logged")
  })

  it("two nodes are one hub: either lists both nodes' subscribers; a node killed -9 has its subscriptions ended by the other", async () => {
    const common = [
      "--engine",
      redis.url,
      "--port",
      "0",
      "--subscriptions",
      "--node-lease",
      "1s",
      "--redis-key-prefix",
      "two-nodes",
    ]
    const a = await startHub([...common, "--node-id", "node-a"], { cwd: tempCwd() })
    const b = await startHub([...common, "--node-id", "node-b"], { cwd: tempCwd() })
    const list = async (hubUrl: string) => {
      const response = await fetch(`${hubUrl}/subscriptions`)
      expect(response.status).toBe(200)
      const body = (await response.json()) as { subscriptions: { match: string }[] }
      return body.subscriptions.map((subscription) => subscription.match).sort()
    }
    const events = await openStream(
      `${a.hubUrl}?match_urlpattern=${encodeURIComponent("/.well-known/mercure/subscriptions/:type/:match/:subscriber")}`,
    )
    const onA = await openStream(`${a.hubUrl}?match=on-a`)
    const onB = await openStream(`${b.hubUrl}?match=on-b`)
    expect([onA.status, onB.status]).toEqual([200, 200])
    for (const hub of [a, b]) {
      await eventually(50, async () =>
        (await list(hub.hubUrl)).includes("on-b") && (await list(hub.hubUrl)).includes("on-a")
          ? true
          : undefined,
      )
    }
    // Published on B, received on A: one hub.
    const published = await fetch(b.hubUrl, {
      method: "POST",
      body: new URLSearchParams({ topic: "on-a", data: "from b" }),
    })
    expect(published.status).toBe(200)
    expect((await onA.waitForEvents(1)).map((event) => event.data)).toEqual(["from b"])

    b.child.kill("SIGKILL")
    await b.exited
    const ended = await eventually(80, async () =>
      events.events
        .map((event) => JSON.parse(event.data) as { match: string; active: boolean })
        .find((event) => event.match === "on-b" && !event.active),
    )
    expect(ended).toMatchObject({ match: "on-b", active: false })
    expect(await list(a.hubUrl)).not.toContain("on-b")
    expect(await list(a.hubUrl)).toContain("on-a")
    const inactiveOnB = events.events.filter((event) => {
      const document = JSON.parse(event.data) as { match: string; active: boolean }
      return document.match === "on-b" && !document.active
    })
    expect(inactiveOnB).toHaveLength(1)
    a.child.kill("SIGTERM")
    expect(await a.exited).toBe(0)
  })
})
