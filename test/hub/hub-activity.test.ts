// What a hub tells a dashboard (hub.activity): read from the same state the protocol uses.
import { afterEach, describe, expect, it } from "vitest"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { openStream, waitUntil } from "../server/helpers.js"
import { publish, startHub, subscribeUrl, type TestHub, token } from "./hub-helpers.js"

let hubs: TestHub[] = []
afterEach(async () => {
  await Promise.all(hubs.map((hub) => hub.close()))
  hubs = []
})

async function hubWith(options: Parameters<typeof startHub>[0] = {}): Promise<TestHub> {
  const hub = await startHub(options)
  hubs.push(hub)
  return hub
}

describe("hub activity", () => {
  it("lists the newest updates of the log, newest first, at most as many as asked and as held", async () => {
    const { hub, hubUrl } = await hubWith({ engine: createMemoryEngine({ retention: { maxEntries: 4 } }) })
    expect(await hub.activity.recentUpdates(3)).toEqual([])
    const publisher = await token(hubUrl, { publish: ["*"] })
    for (let index = 1; index <= 6; index++) {
      const fields: Record<string, string> = {
        topic: `https://example.com/${index}`,
        data: "é".repeat(index),
        id: `u${index}`,
      }
      if (index === 6) Object.assign(fields, { type: "note", private: "on" })
      expect((await publish(hubUrl, fields, publisher)).status).toBe(200)
    }
    const three = await hub.activity.recentUpdates(3)
    expect(three.map((update) => update.id)).toEqual(["u6", "u5", "u4"])
    expect(three[0]).toMatchObject({
      topics: ["https://example.com/6"],
      type: "note",
      private: true,
      bytes: 12,
    })
    expect(three[1]).toMatchObject({ type: undefined, private: false, bytes: 10 })
    // Retention keeps 4: asking for more returns what is held, never a gap.
    expect((await hub.activity.recentUpdates(10)).map((update) => update.id)).toEqual([
      "u6",
      "u5",
      "u4",
      "u3",
    ])
    expect(await hub.activity.recentUpdates(0)).toEqual([])
  })

  it("counts subscriptions per matcher as they come and go, a matcher repeated in one request once", async () => {
    const { hub, hubUrl } = await hubWith()
    const auth = { authorization: `Bearer ${await token(hubUrl, { subscribe: ["*"] })}` }
    const a = "https://example.com/a"
    const b = "https://example.com/b"
    const twice = await openStream(
      subscribeUrl(hubUrl, [
        ["match", a],
        ["match", a],
        ["match", b],
      ]),
      auth,
    )
    const once = await openStream(subscribeUrl(hubUrl, [["match", b]]), auth)
    expect(twice.status).toBe(200)
    expect(once.status).toBe(200)
    expect(hub.activity.mostSubscribed(10)).toEqual([
      { match: b, subscriptions: 2 },
      { match: a, subscriptions: 1 },
    ])
    expect(hub.activity.mostSubscribed(1)).toEqual([{ match: b, subscriptions: 2 }])
    expect(hub.activity.figures()).toMatchObject({ connections: 2, subscriptions: 3 })
    twice.close()
    await waitUntil(
      () => hub.activity.figures().connections === 1,
      () => undefined,
    )
    expect(hub.activity.mostSubscribed(10)).toEqual([{ match: b, subscriptions: 1 }])
    once.close()
    await waitUntil(
      () => hub.activity.figures().connections === 0,
      () => undefined,
    )
    expect(hub.activity.mostSubscribed(10)).toEqual([])
  })
})
