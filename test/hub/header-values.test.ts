// Header values that carry user data (ids, cursors, etags, links) go out as UTF-8 bytes and can
// never make the hub throw; a cursor comes back in as UTF-8 (or as the Latin-1 an old response
// carried). Checked on the wire, byte for byte, with a raw socket.

import { afterEach, describe, expect, it } from "vitest"
import { rawRequest } from "../server/helpers.js"
import { publish, startHub, type TestHub, token } from "./hub-helpers.js"

let hub: TestHub | undefined
afterEach(async () => {
  await hub?.close()
  hub = undefined
})

const utf8 = (text: string) => Buffer.from(text, "utf8")

/** A subscribe request for topic `t`, with `lastEventId` as the raw bytes of its Last-Event-ID header. */
function subscribeHead(lastEventId: Buffer, version = "1.1"): Buffer {
  return Buffer.concat([
    Buffer.from(
      `GET /.well-known/mercure?match=t HTTP/${version}\r\nHost: x\r\nAccept: text/event-stream\r\nLast-Event-ID: `,
    ),
    lastEventId,
    Buffer.from("\r\nConnection: close\r\n\r\n"),
  ])
}

async function publishIds(ids: readonly string[]): Promise<void> {
  const bearer = await token((hub as TestHub).hubUrl, { publish: ["*"] })
  for (const id of ids) {
    const response = await publish((hub as TestHub).hubUrl, { topic: "t", data: `after ${id}`, id }, bearer)
    expect(response.status).toBe(200)
  }
}

/** Reads the stream until `text` shows up (bounded), then closes it. */
async function bodyUntil(response: Awaited<ReturnType<typeof rawRequest>>, text: string): Promise<string> {
  let body = response.bodyStart.toString("utf8")
  const { socket } = response
  const done = new Promise<void>((resolve, reject) => {
    const check = () => {
      if (body.includes(text)) resolve()
    }
    socket.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8")
      check()
    })
    socket.once("end", () => reject(new Error(`the stream ended without ${text}: ${body}`)))
    check()
  })
  await done
  socket.destroy()
  return body
}

describe("header values from user data", () => {
  it("resumes from a non-Latin-1 id sent as UTF-8, and answers it in UTF-8 bytes (the hub lives on)", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true })
    await publishIds(["中1", "next"])
    const response = await rawRequest(hub.origin, subscribeHead(utf8("中1")))
    expect(response.status).toBe(200)
    expect(response.headers.get("mercure-last-event-id")).toEqual(utf8("中1"))
    expect(response.headers.get("last-event-id")).toEqual(utf8("中1"))
    const body = await bodyUntil(response, "id: next")
    expect(body).not.toContain("after 中1")
    expect((await fetch(`${hub.origin}/healthz`)).status).toBe(200)
  })

  it("writes the same bytes to an HTTP/1.0 client (no chunked encoding, no fast path)", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true })
    await publishIds(["中1", "next"])
    const response = await rawRequest(hub.origin, subscribeHead(utf8("中1"), "1.0"))
    expect(response.headers.get("mercure-last-event-id")).toEqual(utf8("中1"))
    await bodyUntil(response, "id: next")
  })

  it("sends a Latin-1 id (é) as UTF-8 and resumes from it in UTF-8, or in the Latin-1 byte an older hub sent", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true })
    await publishIds(["é", "next"])
    for (const sent of [utf8("é"), Buffer.from([0xe9])]) {
      const response = await rawRequest(hub.origin, subscribeHead(sent))
      expect(response.headers.get("mercure-last-event-id")).toEqual(utf8("é"))
      expect(await bodyUntil(response, "id: next")).not.toContain("after é")
    }
  })

  it("writes the subscription API's link in UTF-8 when the last id is not Latin-1, and an entity-tag any id gives", async () => {
    hub = await startHub({ subscriptions: true })
    await publishIds(["中1"])
    const bearer = await token(hub.hubUrl, {
      subscribe: [{ match: "/.well-known/mercure/subscriptions{/*}?", match_type: "urlpattern" }],
    })
    const response = await rawRequest(
      hub.origin,
      Buffer.from(
        `GET /.well-known/mercure/subscriptions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${bearer}\r\nConnection: close\r\n\r\n`,
      ),
    )
    response.socket.destroy()
    expect(response.status).toBe(200)
    expect(response.headers.get("link")?.includes(utf8('last-event-id="中1"'))).toBe(true)
    // RFC 9110's entity-tag: a quoted string of visible characters other than the quote.
    const entityTag = /^"[\x21\x23-\x7e]*"$/
    const first = response.headers.get("etag")?.toString("latin1")
    expect(first).toMatch(entityTag)
    await publishIds(['a"b\\c d'])
    const next = await fetch(`${(hub as TestHub).origin}/.well-known/mercure/subscriptions`, {
      headers: { authorization: `Bearer ${bearer}` },
    })
    expect(next.headers.get("etag")).toMatch(entityTag)
    expect(next.headers.get("etag")).not.toBe(first)
  })
})
