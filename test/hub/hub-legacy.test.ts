// The pre-standardization forms still deployed (draft-08, last appendix): topic= selectors with
// URI templates, the mercure JWT claim, lastEventID, the Last-Event-ID response header, the
// mercureAuthorization cookie and the authorization query parameter.
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { openStream } from "../server/helpers.js"
import { legacyToken, publish, SECRET, startHub, subscribeUrl, type TestHub } from "./hub-helpers.js"

let hub: TestHub
beforeEach(async () => {
  hub = await startHub()
})
afterEach(() => hub.close())

describe("legacy Mercure clients", () => {
  it("publish with a mercure-claim token; subscribe with topic= URI templates and the authorization query parameter", async () => {
    const publisher = await legacyToken({ publish: ["*"] })
    const subscriber = await legacyToken({ subscribe: ["https://example.com/books/{id}"] })
    const template = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["topic", "https://example.com/books/{id}"],
        ["authorization", subscriber],
      ]),
    )
    expect(template.status).toBe(200)
    const exact = await openStream(subscribeUrl(hub.hubUrl, [["topic", "https://example.com/authors/1"]]), {
      cookie: `mercureAuthorization=${subscriber}`,
    })
    expect(exact.status).toBe(200)
    for (const [topic, data] of [
      ["https://example.com/books/1", "book"],
      ["https://example.com/books/1/chapters/2", "chapter"],
      ["https://example.com/authors/1", "author"],
    ]) {
      expect(
        (await publish(hub.hubUrl, { topic: topic as string, data: data as string }, publisher)).status,
      ).toBe(200)
    }
    await publish(
      hub.hubUrl,
      { topic: "https://example.com/books/2", data: "secret", private: "on" },
      publisher,
    )
    expect((await template.waitForEvents(2)).map((e) => e.data)).toEqual(["book", "secret"])
    expect((await exact.waitForEvents(1)).map((e) => e.data)).toEqual(["author"])
    template.close()
    exact.close()
  })

  it("keeps accepting mercure-claim tokens (which carry no iss) once the keys are bound to an issuer", async () => {
    await hub.close()
    const key = { kind: "secret" as const, secret: SECRET, issuer: "https://app.example" }
    hub = await startHub({ publish: { keys: [key] }, subscribe: { keys: [key] } })
    const response = await publish(
      hub.hubUrl,
      { topic: "t", data: "a" },
      await legacyToken({ publish: ["*"] }),
    )
    expect(response.status).toBe(200)
  })

  it("sends the legacy Last-Event-ID response header on resume", async () => {
    const publisher = await legacyToken({ publish: ["*"] })
    const first = await (await publish(hub.hubUrl, { topic: "t", data: "a" }, publisher)).text()
    await publish(hub.hubUrl, { topic: "t", data: "b" }, publisher)
    const stream = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["topic", "t"],
        ["lastEventID", first],
        ["authorization", await legacyToken({ subscribe: ["*"] })],
      ]),
    )
    expect(stream.headers["last-event-id"]).toBe(first)
    expect((await stream.waitForEvents(1)).map((e) => e.data)).toEqual(["b"])
    stream.close()
  })

  it("ignores every legacy form when legacy support is off", async () => {
    await hub.close()
    hub = await startHub({ legacy: false, allowAnonymousSubscribe: true })
    const response = await fetch(subscribeUrl(hub.hubUrl, [["topic", "t"]]))
    expect(response.status).toBe(400)
    expect((await response.json()).detail).toContain("does not read the pre-draft topic=")
    const legacy = await publish(hub.hubUrl, { topic: "t" }, await legacyToken({ publish: ["*"] }))
    expect(legacy.status).toBe(401)
  })
})
