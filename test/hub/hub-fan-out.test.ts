import { afterEach, describe, expect, it, vi } from "vitest"
import * as matcher from "../../src/auth/matchers/matcher.js"
import { openStream, type StreamReader } from "../server/helpers.js"
import { startHub, subscribeUrl, type TestHub } from "./hub-helpers.js"

// The hub's own prepareTopic, counted.
vi.mock(import("../../src/auth/matchers/matcher.js"), async (importOriginal) => {
  const original = await importOriginal()
  return { ...original, prepareTopic: vi.fn(original.prepareTopic) }
})

let hub: TestHub | undefined
const streams: StreamReader[] = []
afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close()
  await hub?.close()
  hub = undefined
})

describe("fan-out", () => {
  it("prepares each update's topics once, however many subscribers and however the deliveries interleave", async () => {
    hub = await startHub({ allowAnonymousPublish: true, allowAnonymousSubscribe: true })
    const subscribers = 12
    for (let i = 0; i < subscribers; i++) {
      // A URL pattern needs the prepared topics (exact matchers compare strings).
      const url = subscribeUrl(hub.hubUrl, [["match_urlpattern", "https://example.com/books/:id"]])
      streams.push(await openStream(url))
    }
    const topics = (n: number) => [`https://example.com/books/${n}`, `https://example.com/alternate/${n}`]
    const prepared = vi.mocked(matcher.prepareTopic)
    prepared.mockClear()
    // Two batches of three: each subscriber takes each batch's updates in turn.
    for (const batch of [
      [1, 2, 3],
      [4, 5, 6],
    ]) {
      const response = await fetch(`${hub.origin}/herald/v1/publish`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(batch.map((n) => ({ topic: topics(n), data: String(n) }))),
      })
      expect(response.status).toBe(200)
    }
    for (const stream of streams) {
      expect((await stream.waitForEvents(6)).map((event) => event.data)).toEqual([
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
      ])
    }
    // Six updates of two topics each: twelve preparations, not twelve per subscriber.
    expect(prepared).toHaveBeenCalledTimes(6 * 2)
  })
})
