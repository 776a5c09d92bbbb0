// Who gets in, on every route: no credentials → 401 with a challenge, a token without the grant →
// 403, and dev mode's rule (a local client without a token gets every grant; nobody else does).
import { request as httpRequest } from "node:http"
import pino from "pino"
import { afterEach, describe, expect, it } from "vitest"
import { openStream, rawRequest } from "../server/helpers.js"
import { publish, SECRET, startHub, subscribeUrl, type TestHub, token } from "./hub-helpers.js"

let hub: TestHub | undefined
afterEach(async () => {
  await hub?.close()
  hub = undefined
})

const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` })
const PRIVATE_TOPIC = "https://example.com/users/1/inbox"

interface Answer {
  readonly url: string
  readonly status: number
  readonly challenge: string | undefined
  readonly detail: string
}

/** One request with node:http, which sends any `Host` header (fetch would replace it). */
function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method, headers }, (response) => {
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => {
        text += chunk
      })
      response.on("end", () => {
        const challenge = response.headers["www-authenticate"]
        const detail = text.startsWith("{") ? String(JSON.parse(text).detail) : text
        resolve({ url, status: response.statusCode ?? 0, challenge, detail })
      })
    })
    request.on("error", reject)
    request.end(body)
  })
}

/** One request on each route that needs a grant, with `headers`. */
function everyRoute(running: TestHub, headers: Record<string, string>): Promise<Answer[]> {
  const form = { "content-type": "application/x-www-form-urlencoded", ...headers }
  const json = { "content-type": "application/json", ...headers }
  return Promise.all([
    send(running.hubUrl, "POST", form, "topic=t&data=x"),
    send(`${running.origin}/herald/v1/publish`, "POST", json, JSON.stringify([{ topic: "t", data: "x" }])),
    send(`${running.hubUrl}/subscriptions`, "GET", headers),
    send(`${running.hubUrl}/subscriptions/exact/t`, "GET", headers),
    send(`${running.hubUrl}/subscriptions/exact/t/urn%3Auuid%3A1`, "GET", headers),
  ])
}

describe("401 and 403 on every route", () => {
  it("anonymous subscribers on: a request without credentials gets 401 and a challenge, never 403", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true, subscriptions: true })
    for (const response of await everyRoute(hub, {})) {
      expect([response.url, response.status]).toEqual([response.url, 401])
      expect(response.challenge).toMatch(/^Bearer resource_metadata="[^"]+"$/)
    }
  })

  it("a valid token without the grant gets 403 insufficient_scope", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true, subscriptions: true })
    const narrow = await token(hub.hubUrl, { publish: ["other"], subscribe: ["other"] })
    for (const response of await everyRoute(hub, bearer(narrow))) {
      expect([response.url, response.status]).toEqual([response.url, 403])
      expect(response.challenge).toMatch(/error="insufficient_scope"/)
    }
  })

  it("the 401 for a missing subscriber token names the cookies the hub reads", async () => {
    hub = await startHub({ cookieNames: ["app_hub_token"] })
    const response = await fetch(subscribeUrl(hub.hubUrl, [["match", "t"]]))
    expect(response.status).toBe(401)
    expect((await response.json()).detail).toMatch(/in the app_hub_token cookie/)
  })
})

describe("refusals before a valid signature", () => {
  it("tell the client nothing of the hub's keys, and the operator everything (debug log)", async () => {
    const lines: string[] = []
    const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(line) })
    const key = { kind: "secret" as const, secret: SECRET, issuer: "https://trusted.example" }
    hub = await startHub({ publish: { keys: [key] }, subscribe: { keys: [] }, logger })
    const stranger = await token(hub.hubUrl, { publish: ["*"], issuer: "https://stranger.example" })
    const refused = await publish(hub.hubUrl, { topic: "t" }, stranger)
    expect(refused.status).toBe(401)
    expect((await refused.json()).detail).not.toContain("https://trusted.example")
    const noSubscriberKeys = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]), bearer(stranger))
    expect(noSubscriberKeys.status).toBe(401)
    expect(noSubscriberKeys.headers["www-authenticate"]).not.toContain("--subscriber-jwt-key")
    noSubscriberKeys.close()
    const logged = lines.map((line) => JSON.parse(line) as { msg: string; reason?: string })
    expect(logged.filter((entry) => entry.msg === "token refused").map((entry) => entry.reason)).toEqual([
      'no key is configured for issuer "https://stranger.example" (trusted issuers: "https://trusted.example"); check the token\'s "iss"',
      "the hub has no key to verify subscriber tokens; start it with --subscriber-jwt-key (or --jwt-key)",
    ])
  })
})

describe("dev mode: local clients need no token", () => {
  it("lets a tokenless local client publish, subscribe to private updates and read the subscription API", async () => {
    hub = await startHub({ trustLocalClients: true, subscriptions: true })
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", PRIVATE_TOPIC]]))
    expect(stream.status).toBe(200)
    const published = await publish(hub.hubUrl, { topic: PRIVATE_TOPIC, data: "secret", private: "on" })
    expect(published.status).toBe(200)
    expect((await stream.waitForEvents(1)).map((event) => event.data)).toEqual(["secret"])
    stream.close()
    const list = await fetch(`${hub.hubUrl}/subscriptions`)
    expect(list.status).toBe(200)
    // A token, when one is sent, is checked as usual: a bad one is still refused.
    expect((await publish(hub.hubUrl, { topic: "t" }, "not.a.jwt")).status).toBe(401)
  })

  it("a hub with keys and dev mode off lets nobody in without a token", async () => {
    hub = await startHub({ subscriptions: true })
    for (const response of await everyRoute(hub, {})) {
      expect([response.url, response.status]).toEqual([response.url, 401])
    }
    expect((await fetch(subscribeUrl(hub.hubUrl, [["match", "t"]]))).status).toBe(401)
  })

  it("a request a proxy forwarded, a cross-site page, or a rebound host name is not a local client", async () => {
    hub = await startHub({ trustLocalClients: true, subscriptions: true, corsOrigins: ["*"] })
    const notLocal: Record<string, string>[] = [
      { forwarded: "for=203.0.113.7" },
      { "x-forwarded-for": "203.0.113.7" },
      { "x-real-ip": "203.0.113.7" },
      // "*" lets any site read public data, not act as the developer.
      { origin: "https://evil.example" },
      // DNS rebinding: a page of attacker.example whose name now resolves to 127.0.0.1.
      { host: `attacker.example:${new URL(hub.origin).port}` },
    ]
    for (const headers of notLocal) {
      for (const response of await everyRoute(hub, headers)) {
        expect([headers, response.url, response.status]).toEqual([headers, response.url, 401])
      }
      const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", PRIVATE_TOPIC]]), headers)
      expect([headers, stream.status]).toEqual([headers, 401])
      stream.close()
    }
    // The hub's own origin is trusted like the hub itself.
    expect((await publish(hub.hubUrl, { topic: "t" }, undefined, { origin: hub.origin })).status).toBe(200)
  })

  it("a request in HTTP/1.0, as nginx's bare proxy_pass sends it (no forwarding header), is not a local client", async () => {
    hub = await startHub({ trustLocalClients: true })
    const { host, pathname } = new URL(hub.hubUrl)
    const body = "topic=t&data=x"
    const publishIn = async (version: string) => {
      const response = await rawRequest(
        hub?.origin as string,
        Buffer.from(
          `POST ${pathname} HTTP/${version}\r\nHost: ${host}\r\nConnection: close\r\n` +
            `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        ),
      )
      response.socket.destroy()
      return response.status
    }
    expect(await publishIn("1.0")).toBe(401)
    expect(await publishIn("1.1")).toBe(200)
  })

  it("tells a page of another local origin (a dev server) that its origin is what is not trusted, and how to trust it", async () => {
    hub = await startHub({ trustLocalClients: true })
    const page = "http://localhost:5173"
    const refused = await fetch(subscribeUrl(hub.hubUrl, [["match", "t"]]), { headers: { origin: page } })
    expect(refused.status).toBe(401)
    expect((await refused.json()).detail).toBe(
      `This server trusts clients on this machine without a token, but not pages of ${page}: start it with --cors-origins ${page}, or send a token.`,
    )
    // A client that is not local is told only that a token is needed.
    const remote = await fetch(subscribeUrl(hub.hubUrl, [["match", "t"]]), {
      headers: { origin: page, "x-forwarded-for": "203.0.113.7" },
    })
    expect((await remote.json()).detail).toMatch(/^This hub needs an access token to subscribe/)
    // A client on this machine naming the hub by another host (a name in /etc/hosts, or a
    // DNS-rebinding page) is told to use localhost.
    const { pathname } = new URL(hub.hubUrl)
    const named = await rawRequest(
      hub.origin,
      Buffer.from(`GET ${pathname}?match=t HTTP/1.1\r\nHost: myapp.test:8080\r\nConnection: close\r\n\r\n`),
    )
    named.socket.destroy()
    expect(named.status).toBe(401)
    expect(named.bodyStart.toString("utf8")).toContain(
      "This server trusts clients on this machine without a token when they name it by a loopback host or its own, not myapp.test:8080: use localhost, or send a token.",
    )
    await hub.close()
    hub = await startHub({ trustLocalClients: true, corsOrigins: [page] })
    const trusted = await openStream(subscribeUrl(hub.hubUrl, [["match", "t"]]), { origin: page })
    expect(trusted.status).toBe(200)
    trusted.close()
  })
})

describe("Herald grants on the hub", () => {
  const heraldToken = (running: TestHub, app: string, actions: string[]) =>
    token(running.hubUrl, {
      claims: {
        authorization_details: [
          { type: "https://herald.dev/grant", app, actions, resources: [{ match: PRIVATE_TOPIC }] },
        ],
      },
    })

  it("publish and receive private updates through a grant of the hub app", async () => {
    hub = await startHub()
    const granted = await heraldToken(hub, "hub", ["publish", "subscribe"])
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", PRIVATE_TOPIC]]), bearer(granted))
    expect(stream.status).toBe(200)
    const published = await publish(
      hub.hubUrl,
      { topic: PRIVATE_TOPIC, data: "secret", private: "on" },
      granted,
    )
    expect(published.status).toBe(200)
    expect((await stream.waitForEvents(1)).map((event) => event.data)).toEqual(["secret"])
    stream.close()
  })

  it("grant nothing on the hub when they name another app, and refuse a malformed grant with 401", async () => {
    hub = await startHub()
    const streams = await heraldToken(hub, "streams", ["publish", "append"])
    expect((await publish(hub.hubUrl, { topic: PRIVATE_TOPIC, data: "x" }, streams)).status).toBe(403)
    const malformed = await heraldToken(hub, "stream", ["publish"])
    const refused = await publish(hub.hubUrl, { topic: PRIVATE_TOPIC, data: "x" }, malformed)
    expect(refused.status).toBe(401)
    expect((await refused.json()).detail).toContain('authorization_details[0].app is "stream"')
  })
})
