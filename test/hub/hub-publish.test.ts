import { request as httpRequest } from "node:http"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { openStream } from "../server/helpers.js"
import { publish, startHub, subscribeUrl, type TestHub, token } from "./hub-helpers.js"

let hub: TestHub
let publisher: string

beforeEach(async () => {
  hub = await startHub({
    allowAnonymousSubscribe: true,
    limits: { maxBodyBytes: 4096, maxTopicsPerUpdate: 3, maxPatternLength: 200 },
  })
  publisher = await token(hub.hubUrl, { publish: ["*"] })
})
afterEach(() => hub.close())

/** Posts a raw body (form-encoded unless told otherwise). */
async function postRaw(body: string, contentType = "application/x-www-form-urlencoded") {
  return fetch(hub.hubUrl, {
    method: "POST",
    body,
    headers: { authorization: `Bearer ${publisher}`, "content-type": contentType },
  })
}

describe("publish validation (draft-08 Publication and Security Considerations)", () => {
  it.each<[string, Array<[string, string]>, number, RegExp]>([
    ["no topic", [["data", "x"]], 400, /no "topic"/],
    ["the wildcard as a topic", [["topic", "*"]], 400, /wildcard/],
    [
      "the reserved namespace, relative",
      [["topic", "/.well-known/mercure/subscriptions/x"]],
      400,
      /reserved namespace/,
    ],
    [
      "the reserved namespace, the hub path itself",
      [["topic", "/.well-known/mercure"]],
      400,
      /reserved namespace/,
    ],
    [
      "the reserved namespace, absolute on another host",
      [["topic", "https://hub.example.com/.well-known/mercure/subscriptions/exact/a/b"]],
      400,
      /reserved namespace/,
    ],
    [
      "the reserved namespace, percent-encoded",
      [["topic", "/.well-known/%6Dercure/subscriptions/x"]],
      400,
      /reserved namespace/,
    ],
    [
      "the reserved namespace, dot-segments",
      [["topic", "/.well-known/mercure/../mercure/x"]],
      400,
      /reserved namespace/,
    ],
    [
      "the reserved namespace, encoded dot-segments",
      [["topic", "/books/%2e%2e/.well-known/mercure/x"]],
      400,
      /reserved namespace/,
    ],
    ["a CR in a topic", [["topic", "a\rb"]], 400, /"topic"/],
    ["a NUL in a topic", [["topic", "a\u0000b"]], 400, /"topic"/],
    ["a C1 control in a topic", [["topic", "a\u0085b"]], 400, /"topic"/],
    ["a bidi control in a topic", [["topic", "a\u202Eb"]], 400, /"topic"/],
    [
      "an id starting with #",
      [
        ["topic", "t"],
        ["id", "#1"],
      ],
      400,
      /"id"/,
    ],
    [
      "the id earliest",
      [
        ["topic", "t"],
        ["id", "earliest"],
      ],
      400,
      /earliest/,
    ],
    ...[" a1", "a1 ", "\ta1", "a1\t"].map((id): [string, Array<[string, string]>, number, RegExp] => [
      `the id ${JSON.stringify(id)}, which a Last-Event-ID header cannot carry (HTTP strips its edge spaces and tabs)`,
      [
        ["topic", "t"],
        ["id", id],
      ],
      400,
      /"id" .* starts or ends with a space or tab.*Last-Event-ID.*Trim the id/,
    ]),
    [
      "an id with LF (field injection)",
      [
        ["topic", "t"],
        ["id", "1\nevent: forged"],
      ],
      400,
      /"id"/,
    ],
    [
      "a type with LF (field injection)",
      [
        ["topic", "t"],
        ["type", "a\ndata: forged"],
      ],
      400,
      /"type"/,
    ],
    [
      "the reserved type mercure",
      [
        ["topic", "t"],
        ["type", "mercure"],
      ],
      400,
      /reserved/,
    ],
    [
      "a retry that is not digits",
      [
        ["topic", "t"],
        ["retry", "-1"],
      ],
      400,
      /"retry"/,
    ],
    [
      "a retry with a decimal point",
      [
        ["topic", "t"],
        ["retry", "1.5"],
      ],
      400,
      /"retry"/,
    ],
    [
      "too many topics",
      [
        ["topic", "a"],
        ["topic", "b"],
        ["topic", "c"],
        ["topic", "d"],
      ],
      413,
      /at most 3 \(--max-topics-per-update\)/,
    ],
    [
      "a topic over the length limit",
      [["topic", "x".repeat(201)]],
      413,
      /at most 200 \(--max-pattern-length\)/,
    ],
  ])("refuses %s", async (_name, fields, status, detail) => {
    const response = await publish(hub.hubUrl, fields, publisher)
    expect(response.status).toBe(status)
    expect(response.headers.get("content-type")).toBe("application/problem+json")
    expect((await response.json()).detail).toMatch(detail)
  })

  it("never lets data inject fields: each line becomes its own data: field", async () => {
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]))
    await publish(
      hub.hubUrl,
      { topic: "t", data: "a\nid: forged\r\nevent: forged\rretry: 1\n\ndata: x" },
      publisher,
    )
    const [event] = await stream.waitForEvents(1)
    expect(event?.type).toBe("message")
    expect(event?.data).toBe("a\nid: forged\nevent: forged\nretry: 1\n\ndata: x")
    expect(event?.lastEventId).toMatch(/^urn:uuid:/)
    expect(stream.retries).not.toContain(1)
    stream.close()
  })

  it("refuses a body over the size limit with 413", async () => {
    const response = await postRaw(`topic=t&data=${"x".repeat(5000)}`)
    expect(response.status).toBe(413)
  })

  it("refuses a body that is not valid UTF-8, naming the field", async () => {
    const response = await postRaw("topic=t&data=%C3%28")
    expect(response.status).toBe(400)
    expect((await response.json()).detail).toMatch(/"data" is not valid UTF-8/)
  })

  it("refuses another content type with 415", async () => {
    const response = await postRaw(JSON.stringify({ topic: "t" }), "application/json")
    expect(response.status).toBe(415)
  })

  it("ignores fields it does not know, and marks an update private whatever the value of private", async () => {
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]))
    const response = await postRaw("topic=t&data=public&future_field=1")
    expect(response.status).toBe(200)
    expect((await postRaw("topic=t&data=hidden&private")).status).toBe(200)
    expect((await postRaw("topic=t&data=hidden2&private=false")).status).toBe(200)
    await postRaw("topic=t&data=last")
    expect((await stream.waitForEvents(2)).map((e) => e.data)).toEqual(["public", "last"])
    stream.close()
  })

  it("accepts unicode topics, ids and data verbatim", async () => {
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "https://example.com/livres/é"]]))
    const response = await publish(
      hub.hubUrl,
      { topic: "https://example.com/livres/é", id: "urn:id:ü", data: "😀 ok" },
      publisher,
    )
    expect(await response.text()).toBe("urn:id:ü")
    expect(await stream.waitForEvents(1)).toEqual([
      { type: "message", data: "😀 ok", lastEventId: "urn:id:ü" },
    ])
    stream.close()
  })

  it("accepts an id with spaces inside, and a client resumes from it by Last-Event-ID", async () => {
    const id = "urn:id:a 1"
    expect(await (await publish(hub.hubUrl, { topic: "t", id, data: "one" }, publisher)).text()).toBe(id)
    await publish(hub.hubUrl, { topic: "t", data: "two" }, publisher)
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]), { "last-event-id": id })
    expect((await stream.waitForEvents(1)).map((event) => [event.type, event.data])).toEqual([
      ["message", "two"],
    ])
    stream.close()
  })

  it("refuses an id with an edge space in a batch too, naming the update", async () => {
    const response = await fetch(`${hub.origin}/herald/v1/publish`, {
      method: "POST",
      headers: { authorization: `Bearer ${publisher}`, "content-type": "application/json" },
      body: JSON.stringify([
        { topic: "t", data: "x" },
        { topic: "t", data: "y", id: "a1 " },
      ]),
    })
    expect(response.status).toBe(400)
    expect((await response.json()).detail).toMatch(/^update 1: "id" "a1 " starts or ends with a space or tab/)
  })

  it("keeps the process alive through a client that aborts mid-body", async () => {
    await new Promise<void>((resolve) => {
      const req = httpRequest(hub.hubUrl, {
        method: "POST",
        headers: {
          authorization: `Bearer ${publisher}`,
          "content-type": "application/x-www-form-urlencoded",
          "content-length": "1000",
        },
      })
      req.on("error", () => resolve())
      req.write("topic=t&data=")
      setTimeout(() => {
        req.destroy()
        resolve()
      }, 20)
    })
    expect((await publish(hub.hubUrl, { topic: "t", data: "still up" }, publisher)).status).toBe(200)
  })
})

describe("publish authorization", () => {
  it("asks for a token with a Bearer challenge and no error code when none is presented", async () => {
    const response = await publish(hub.hubUrl, { topic: "t" })
    expect(response.status).toBe(401)
    const challenge = response.headers.get("www-authenticate") ?? ""
    expect(challenge).toMatch(/^Bearer /)
    expect(challenge).not.toMatch(/error=/)
    expect(challenge).toContain('resource_metadata="')
  })

  it("refuses a bad token with invalid_token and a reason", async () => {
    const response = await publish(
      hub.hubUrl,
      { topic: "t" },
      await token(hub.hubUrl, { publish: ["*"], secret: "another-secret-another-secret-00" }),
    )
    expect(response.status).toBe(401)
    expect(response.headers.get("www-authenticate")).toMatch(/error="invalid_token"/)
    expect((await response.json()).detail).toMatch(/no key this hub trusts verifies the token/)
  })

  it("refuses a token for another hub (aud)", async () => {
    const response = await publish(
      hub.hubUrl,
      { topic: "t" },
      await token(hub.hubUrl, { publish: ["*"], audience: "https://other.example/.well-known/mercure" }),
    )
    expect(response.status).toBe(401)
    expect(response.headers.get("www-authenticate")).toMatch(/error="invalid_token"/)
  })

  it("refuses with 403 insufficient_scope unless every topic is granted, and dispatches nothing", async () => {
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]))
    const narrow = await token(hub.hubUrl, { publish: ["https://example.com/a"] })
    const response = await publish(
      hub.hubUrl,
      [
        ["topic", "https://example.com/a"],
        ["topic", "https://example.com/b"],
        ["data", "no"],
      ],
      narrow,
    )
    expect(response.status).toBe(403)
    expect(response.headers.get("www-authenticate")).toMatch(/error="insufficient_scope"/)
    expect((await response.json()).detail).toContain("https://example.com/b")
    expect(
      (
        await publish(
          hub.hubUrl,
          [
            ["topic", "https://example.com/a"],
            ["data", "yes"],
          ],
          narrow,
        )
      ).status,
    ).toBe(200)
    expect((await stream.waitForEvents(1)).map((e) => e.data)).toEqual(["yes"])
    stream.close()
  })

  it("refuses a token once it expires, though the hub remembered it as valid", async () => {
    // A hub made while Date is faked keeps reading that clock: the token expires without a wait.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() })
    const clocked = await startHub()
    try {
      // Expired 3 s ago: inside the verifier's 5 s clock tolerance until the clock moves 2 s on.
      const shortLived = await token(clocked.hubUrl, { publish: ["*"], expiresInSec: -3 })
      expect((await publish(clocked.hubUrl, { topic: "t" }, shortLived)).status).toBe(200)
      vi.setSystemTime(Date.now() + 2100)
      const response = await publish(clocked.hubUrl, { topic: "t" }, shortLived)
      expect(response.status).toBe(401)
      expect((await response.json()).detail).toMatch(/expired/)
    } finally {
      vi.useRealTimers()
      await clocked.close()
    }
  })

  it("refuses a subscriber token for publishing", async () => {
    const response = await publish(hub.hubUrl, { topic: "t" }, await token(hub.hubUrl, { subscribe: ["*"] }))
    expect(response.status).toBe(403)
  })

  it("checks the origin of a publish authorized by cookie (CSRF)", async () => {
    const cookie = `mercureAuthorization=${publisher}`
    const form = { "content-type": "application/x-www-form-urlencoded", cookie }
    const noOrigin = await fetch(hub.hubUrl, { method: "POST", body: "topic=t", headers: form })
    expect(noOrigin.status).toBe(403)
    const evil = await fetch(hub.hubUrl, {
      method: "POST",
      body: "topic=t",
      headers: { ...form, origin: "https://evil.example" },
    })
    expect(evil.status).toBe(403)
    const same = await fetch(hub.hubUrl, {
      method: "POST",
      body: "topic=t",
      headers: { ...form, origin: hub.origin },
    })
    expect(same.status).toBe(200)
  })

  it("with CORS origins * still refuses a cookie-authorized publish from a site not listed by name", async () => {
    const open = await startHub({ corsOrigins: ["*", "https://app.example"] })
    try {
      const cookie = `mercureAuthorization=${await token(open.hubUrl, { publish: ["*"] })}`
      const cookiePublish = (path: string, origin: string, type: string, body: string) =>
        fetch(`${open.origin}${path}`, {
          method: "POST",
          body,
          headers: { "content-type": type, cookie, origin },
        })
      const form = "application/x-www-form-urlencoded"
      const json = JSON.stringify({ updates: [{ topic: "t", data: "x" }] })
      for (const [path, type, body] of [
        ["/.well-known/mercure", form, "topic=t"],
        ["/herald/v1/publish", "application/json", json],
      ] as const) {
        const evil = await cookiePublish(path, "https://evil.example", type, body)
        expect(evil.status).toBe(403)
        expect((await evil.json()).detail).toMatch(/"\*" never lets a site publish with cookies/)
        expect((await cookiePublish(path, "https://app.example", type, body)).status).toBe(200)
      }
    } finally {
      await open.close()
    }
  })
})
