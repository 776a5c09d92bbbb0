// Herald's own promises on top of the protocol: who may do what (401/403, ownership, dev mode's
// local clients), the bounds (413, 414, 429), and the official client reading, tailing and
// resuming a Herald stream.
import { request } from "node:http"
import { DurableStream } from "@durable-streams/client"
import { SignJWT } from "jose"
import { afterEach, describe, expect, it } from "vitest"
import { createTokenVerifier } from "../../src/auth/verifier.js"
import { MAX_LOG_NAME } from "../../src/engine/checks.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { markerOf } from "../../src/streams/fork.js"
import type { StreamsOptions } from "../../src/streams/index.js"
import { MAX_PATH_LENGTH, resolveLimits } from "../../src/streams/limits.js"
import { countingReads } from "./counting-reads.js"
import { type ServedStreams, serveStreams } from "./serve-streams.js"

const SECRET = "streams-test-secret-with-enough-entropy-0123"
const RESOURCE = "https://herald.test/"

let served: ServedStreams | undefined
afterEach(async () => {
  await served?.close()
  served = undefined
})

async function start(options: Omit<StreamsOptions, "engine"> = {}): Promise<ServedStreams> {
  served = await serveStreams(createMemoryEngine(), options)
  return served
}

const verifier = () =>
  createTokenVerifier({
    keys: [{ kind: "secret", secret: SECRET }],
    resource: RESOURCE,
    legacy: false,
    matcherContext: { hubUrl: new URL(RESOURCE), maxPatternLength: 1024 },
  })

/** A token of `subject` with Herald grants of app `streams`. */
function token(
  subject: string,
  grants: ReadonlyArray<{ actions: string[]; match: string }>,
): Promise<string> {
  return new SignJWT({
    authorization_details: grants.map(({ actions, match }) => ({
      type: "https://herald.dev/grant",
      app: "streams",
      actions,
      resources: [{ match, match_type: "urlpattern" }],
    })),
  })
    .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
    .setIssuer("https://issuer.test")
    .setSubject(subject)
    .setAudience(RESOURCE)
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(SECRET))
}

const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` })

describe("auth", () => {
  it("answers 401 with a Bearer challenge without a token, 403 for a token without the grant", async () => {
    const { baseUrl } = await start({ auth: { verifier: verifier() } })
    const url = `${baseUrl}/v1/stream/users/42/inbox`
    const anonymous = await fetch(url, { method: "PUT" })
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/)
    expect(anonymous.headers.get("content-type")).toBe("application/problem+json")

    const forged = await fetch(url, { method: "PUT", headers: bearer("not.a.jwt") })
    expect(forged.status).toBe(401)

    const readOnly = await token("user-42", [{ actions: ["read"], match: "/v1/stream/users/42/*" }])
    const refused = await fetch(url, { method: "PUT", headers: bearer(readOnly) })
    expect(refused.status).toBe(403)
    expect(refused.headers.get("www-authenticate")).toContain("insufficient_scope")
  })

  it("lets a grant create, append and read its paths only", async () => {
    const { baseUrl } = await start({ auth: { verifier: verifier() } })
    const jwt = await token("user-42", [
      { actions: ["create", "append", "read"], match: "/v1/stream/users/42/*" },
    ])
    const url = `${baseUrl}/v1/stream/users/42/inbox`
    const headers = { ...bearer(jwt), "content-type": "text/plain" }
    expect((await fetch(url, { method: "PUT", headers })).status).toBe(201)
    expect((await fetch(url, { method: "POST", headers, body: "hello" })).status).toBe(204)
    const read = await fetch(url, { headers: bearer(jwt) })
    expect(read.status).toBe(200)
    expect(await read.text()).toBe("hello")
    await fetch(url, { method: "POST", headers: { ...bearer(jwt), "stream-closed": "true" } })
    const closed = await fetch(url, { headers: bearer(jwt) })
    // Private: the data may be user-specific.
    expect(closed.headers.get("cache-control")).toMatch(/^private, max-age=60/)
    expect((await fetch(url, { method: "DELETE", headers: bearer(jwt) })).status).toBe(403)
    const other = await fetch(`${baseUrl}/v1/stream/users/43/inbox`, { method: "PUT", headers })
    expect(other.status).toBe(403)
  })

  it("lets the creator act on its stream with any action it holds in the app, and nobody else", async () => {
    const { baseUrl } = await start({ auth: { verifier: verifier() } })
    const grants = [
      { actions: ["create"], match: "/v1/stream/drafts/*" },
      { actions: ["read", "append", "delete"], match: "/v1/stream/elsewhere" },
    ]
    const owner = await token("alice", grants)
    const stranger = await token("bob", grants)
    const url = `${baseUrl}/v1/stream/drafts/1`
    expect(
      (await fetch(url, { method: "PUT", headers: { ...bearer(owner), "content-type": "text/plain" } }))
        .status,
    ).toBe(201)
    const append = (jwt: string) =>
      fetch(url, { method: "POST", headers: { ...bearer(jwt), "content-type": "text/plain" }, body: "x" })
    expect((await append(owner)).status).toBe(204)
    expect((await append(stranger)).status).toBe(403)
    expect((await fetch(url, { headers: bearer(stranger) })).status).toBe(403)
    expect((await fetch(url, { headers: bearer(owner) })).status).toBe(200)
    expect((await fetch(url, { method: "DELETE", headers: bearer(owner) })).status).toBe(204)
  })

  it("trusts a local client without a token in dev mode, but not a page of another origin", async () => {
    const { baseUrl } = await start({ auth: { verifier: verifier(), trustLocalClients: true } })
    const url = `${baseUrl}/v1/stream/dev`
    expect((await fetch(url, { method: "PUT" })).status).toBe(201)
    const foreign = await fetch(url, { headers: { origin: "https://evil.example" } })
    expect(foreign.status).toBe(401)
    const localPage = await fetch(url, { headers: { origin: "http://localhost:5173" } })
    expect(localPage.status).toBe(200)
  })

  it("trusts only the pages its localTrust names when given one (herald serve: its origin and --cors-origins)", async () => {
    const localTrust = {
      trusts: (origin: string) => origin === "http://localhost:5173",
      hostname: "herald.test",
    }
    const { baseUrl } = await start({ auth: { verifier: undefined, trustLocalClients: true, localTrust } })
    const url = `${baseUrl}/v1/stream/trusted`
    expect((await fetch(url, { method: "PUT", headers: { origin: "http://localhost:5173" } })).status).toBe(
      201,
    )
    const untrusted = await fetch(url, { headers: { origin: "http://localhost:4000" } })
    expect(untrusted.status).toBe(401)
    // Told that its origin is what is not trusted, and how to trust it.
    expect((await untrusted.json()).detail).toBe(
      "This server trusts clients on this machine without a token, but not pages of http://localhost:4000: start it with --cors-origins http://localhost:4000, or send a token.",
    )
    // No key configured: a token cannot be checked, and says so.
    const withToken = await fetch(url, { headers: { authorization: "Bearer abc.def.ghi" } })
    expect(withToken.status).toBe(401)
    expect(await withToken.text()).toMatch(/No key this server trusts/)
  })
})

describe("limits", () => {
  it("refuses a body past maxBodyBytes with 413, and a path past maxPathLength with 414", async () => {
    const { baseUrl } = await start({ limits: { maxBodyBytes: 16, maxPathLength: 40 } })
    const url = `${baseUrl}/v1/stream/small`
    const headers = { "content-type": "application/octet-stream" }
    expect((await fetch(url, { method: "PUT", headers })).status).toBe(201)
    expect((await fetch(url, { method: "POST", headers, body: "x".repeat(16) })).status).toBe(204)
    const large = await fetch(url, { method: "POST", headers, body: "x".repeat(17) })
    expect(large.status).toBe(413)
    expect(await (await fetch(url)).text()).toBe("x".repeat(16))
    const long = await fetch(`${baseUrl}/v1/stream/${"p".repeat(40)}`, { method: "PUT" })
    expect(long.status).toBe(414)
  })

  it("refuses a Stream-Forked-From past maxPathLength with a 400 naming the header, the default bound and one past the engine's longest log name alike", async () => {
    for (const maxPathLength of [40, undefined]) {
      const { baseUrl } = await start(maxPathLength === undefined ? {} : { limits: { maxPathLength } })
      for (const length of [maxPathLength ?? 600, 1100]) {
        const fork = await fetch(`${baseUrl}/v1/stream/fork-longsrc`, {
          method: "PUT",
          headers: { "stream-forked-from": `/v1/stream/${"a".repeat(length)}` },
        })
        expect(fork.status).toBe(400)
        expect(((await fork.json()) as { detail: string }).detail).toContain("`Stream-Forked-From`")
      }
      await served?.close()
      served = undefined
    }
  })

  it("takes no maxPathLength whose fork marker logs the engine could not name", () => {
    // The longest fork of the longest source names a marker log the engine holds, and one more is too long.
    const longest = "/".repeat(MAX_PATH_LENGTH)
    expect(markerOf(longest, longest).length).toBeLessThanOrEqual(MAX_LOG_NAME)
    expect(markerOf(`${longest}/`, `${longest}/`).length).toBeGreaterThan(MAX_LOG_NAME)
    expect(resolveLimits({ maxPathLength: MAX_PATH_LENGTH }).maxPathLength).toBe(MAX_PATH_LENGTH)
    expect(() => resolveLimits({ maxPathLength: MAX_PATH_LENGTH + 1 })).toThrow(
      /`maxPathLength` is at most 500/,
    )
  })

  it("takes no timeout longer than Node's longest timer, which would fire at once", () => {
    const longest = 2 ** 31 - 1
    for (const name of ["bodyIdleTimeoutMs", "longPollTimeoutMs", "sseLifetimeMs"] as const) {
      expect(resolveLimits({ [name]: longest })[name]).toBe(longest)
      expect(() => resolveLimits({ [name]: longest + 1 })).toThrow(
        new RegExp(`\`${name}\` must be at most ${longest} ms`),
      )
    }
  })

  it("answers 413 to a chunked body that grows past maxBodyBytes, without reading the rest", async () => {
    const { baseUrl } = await start({ limits: { maxBodyBytes: 1024 } })
    const url = `${baseUrl}/v1/stream/chunked`
    await fetch(url, { method: "PUT", headers: { "content-type": "application/octet-stream" } })
    const answer = await new Promise<{ status: number; connection: string | undefined }>(
      (resolve, reject) => {
        const upload = request(url, {
          method: "POST",
          headers: { "content-type": "application/octet-stream" },
        })
        upload.on("error", reject)
        upload.on("response", (response) => {
          response.resume()
          resolve({ status: response.statusCode as number, connection: response.headers.connection })
          upload.destroy()
        })
        // Chunks until the server answers (bounded: far past the limit, it has answered).
        let sent = 0
        const more = () => {
          if (sent++ < 200 && !upload.destroyed) upload.write(Buffer.alloc(512), () => setTimeout(more, 1))
        }
        more()
      },
    )
    expect(answer).toEqual({ status: 413, connection: "close" })
    expect(await (await fetch(url)).text()).toBe("")
  })

  it("reads about maxReadBytes per response, asking the engine for no more than it sends", async () => {
    const counted = countingReads(createMemoryEngine())
    served = await serveStreams(counted.engine, { limits: { maxReadBytes: 32 * 1024 } })
    const url = `${served.baseUrl}/v1/stream/pages`
    const bytes = { "content-type": "application/octet-stream" }
    await fetch(url, { method: "PUT", headers: bytes })
    for (let i = 0; i < 40; i++)
      await fetch(url, { method: "POST", headers: bytes, body: "x".repeat(10_000) })
    for (let i = 0; i < 500; i++) await fetch(url, { method: "POST", headers: bytes, body: "y" })

    const reset = () => {
      for (const list of [counted.limits, counted.maxBytes, counted.returned]) list.length = 0
    }
    reset()
    const large = await fetch(`${url}?offset=-1`)
    // Three appends of 10 000 bytes fit in 32 KiB: one engine read, given the response's bytes,
    // returns just them.
    expect((await large.arrayBuffer()).byteLength).toBe(30_000)
    expect(counted.limits).toEqual([1000])
    expect(counted.maxBytes).toEqual([32 * 1024])
    expect(counted.returned).toEqual([30_000])

    reset()
    let offset = large.headers.get("stream-next-offset") as string
    let read = ""
    const sent: number[] = []
    for (let page = 0; page < 20 && !read.endsWith("y".repeat(500)); page++) {
      const response = await fetch(`${url}?offset=${offset}`)
      const text = await response.text()
      sent.push(text.length)
      read += text
      offset = response.headers.get("stream-next-offset") as string
    }
    expect(read).toBe("x".repeat(370_000) + "y".repeat(500))
    // One engine read per response, returning what the response sent.
    expect(counted.returned).toEqual(sent)
  })

  it("holds at most maxStreams streams (429), answers a re-PUT of one at the bound (200), and makes room again on delete", async () => {
    const { baseUrl } = await start({ limits: { maxStreams: 2 } })
    const put = (name: string) => fetch(`${baseUrl}/v1/stream/${name}`, { method: "PUT" })
    expect((await put("a")).status).toBe(201)
    expect((await put("b")).status).toBe(201)
    expect((await put("c")).status).toBe(429)
    // A re-PUT of a stream that exists makes none: idempotent, at the bound too.
    expect((await put("b")).status).toBe(200)
    expect((await put("c")).status).toBe(429)
    expect((await fetch(`${baseUrl}/v1/stream/a`, { method: "DELETE" })).status).toBe(204)
    expect((await put("c")).status).toBe(201)
  })

  it("ends a long-poll with 204 after longPollTimeoutMs, and an SSE response after sseLifetimeMs", async () => {
    const { baseUrl } = await start({ limits: { longPollTimeoutMs: 200, sseLifetimeMs: 300 } })
    const url = `${baseUrl}/v1/stream/quiet`
    const created = await fetch(url, { method: "PUT", headers: { "content-type": "text/plain" } })
    const tail = created.headers.get("stream-next-offset") as string
    const poll = await fetch(`${url}?offset=${tail}&live=long-poll`)
    expect(poll.status).toBe(204)
    expect(poll.headers.get("stream-next-offset")).toBe(tail)
    const sse = await fetch(`${url}?offset=${tail}&live=sse`)
    // The body ends on its own: the server closed the response.
    expect(await sse.text()).toContain('"upToDate":true')
  })
})

describe("paths", () => {
  it("keeps the reserved namespace __ds (protocol section 6) free: no stream there, nor under it", async () => {
    const { baseUrl } = await start()
    for (const path of ["__ds", "__ds/x"]) {
      expect((await fetch(`${baseUrl}/v1/stream/${path}`, { method: "PUT" })).status).toBe(404)
    }
    expect((await fetch(`${baseUrl}/v1/stream/__dsx`, { method: "PUT" })).status).toBe(201)
  })

  it("serves a stream at the path the URL parser reads from the request target, as sent", async () => {
    const { baseUrl } = await start()
    // fetch would resolve the dot segments itself: the raw target goes through node:http.
    const { hostname, port } = new URL(baseUrl)
    const target = "/v1/stream/a/../b%20c"
    const status = await new Promise<number | undefined>((resolve, reject) => {
      request({ hostname, port, path: target, method: "PUT" }, (response) => {
        response.resume()
        resolve(response.statusCode)
      })
        .on("error", reject)
        .end()
    })
    expect(status).toBe(201)
    expect((await fetch(`${baseUrl}/v1/stream/b%20c`, { method: "HEAD" })).status).toBe(200)
  })
})

describe("caching", () => {
  it("lets caches keep what a URL answers for good, and revalidate a read up to an open stream's tail", async () => {
    const { baseUrl } = await start({ limits: { readPageEntries: 1 } })
    const url = `${baseUrl}/v1/stream/cached`
    const text = { "content-type": "text/plain" }
    await fetch(url, { method: "PUT", headers: text, body: "a" })
    const tail = await fetch(`${url}?offset=-1`)
    expect(tail.headers.get("cache-control")).toBe("no-cache")
    const tag = tail.headers.get("etag") as string
    expect((await fetch(`${url}?offset=-1`, { headers: { "if-none-match": tag } })).status).toBe(304)

    await fetch(url, { method: "POST", headers: text, body: "b" })
    // The same URL answers more now: its old copy is not valid any more.
    const grown = await fetch(`${url}?offset=-1`, { headers: { "if-none-match": tag } })
    expect(grown.status).toBe(200)
    // One append per page here: the first page stops short of the tail, and never changes.
    expect(await grown.text()).toBe("a")
    expect(grown.headers.get("cache-control")).toBe("public, max-age=60, stale-while-revalidate=300")

    const next = grown.headers.get("stream-next-offset") as string
    const poll = await fetch(`${url}?offset=${next}&live=long-poll`)
    expect(await poll.text()).toBe("b")
    expect(poll.headers.get("cache-control")).toMatch(/^public, max-age=60/)

    await fetch(url, { method: "POST", headers: { "stream-closed": "true" } })
    const end = await fetch(`${url}?offset=${next}`)
    expect(end.headers.get("stream-closed")).toBe("true")
    expect(end.headers.get("cache-control")).toMatch(/^public, max-age=60/)
  })

  it("lets no cache keep a long-poll from now: what it answers depends on when it was asked", async () => {
    const { baseUrl } = await start()
    const url = `${baseUrl}/v1/stream/from-now`
    const text = { "content-type": "text/plain" }
    await fetch(url, { method: "PUT", headers: text })
    // Clients send no cursor on their first request: a later joiner asks the same URL.
    const poll = fetch(`${url}?offset=now&live=long-poll`)
    await new Promise((resolve) => setTimeout(resolve, 100))
    await fetch(url, { method: "POST", headers: text, body: "old news" })
    const polled = await poll
    expect(polled.status).toBe(200)
    expect(await polled.text()).toBe("old news")
    expect(polled.headers.get("cache-control")).toBe("no-store")
  })
})

describe("the official client (@durable-streams/client)", () => {
  it("reads, tails live and resumes a Herald stream", async () => {
    const { baseUrl } = await start()
    const url = `${baseUrl}/v1/stream/chat/1`
    const stream = await DurableStream.create({ url, contentType: "application/json" })
    await stream.append(JSON.stringify({ token: "Hel" }))
    await stream.append(JSON.stringify({ token: "lo" }))

    const caughtUp = await stream.stream({ live: false })
    expect(await caughtUp.json()).toEqual([{ token: "Hel" }, { token: "lo" }])
    const resumeFrom = caughtUp.offset

    let from = resumeFrom
    for (const live of ["sse", "long-poll"] as const) {
      const tail = await stream.stream({ offset: from, live })
      const received: unknown[] = []
      const done = new Promise<void>((resolve) => {
        tail.subscribeJson((batch) => {
          received.push(...batch.items)
          if (received.length >= 1) resolve()
        })
      })
      await stream.append(JSON.stringify({ token: `!${live}` }))
      await done
      tail.cancel()
      expect(received).toEqual([{ token: `!${live}` }])
      from = tail.offset
    }

    const resumed = await stream.stream({ offset: resumeFrom, live: false })
    expect(await resumed.json()).toEqual([{ token: "!sse" }, { token: "!long-poll" }])
  })

  it("reads a byte stream with multi-byte characters split across appends", async () => {
    const { baseUrl } = await start()
    const url = `${baseUrl}/v1/stream/bytes`
    const stream = await DurableStream.create({ url, contentType: "text/plain" })
    const bytes = Buffer.from("héllo 👋", "utf8")
    await stream.append(bytes.subarray(0, 2))
    await stream.append(bytes.subarray(2, 9))
    await stream.append(bytes.subarray(9))
    const read = await stream.stream({ live: false })
    expect(await read.text()).toBe("héllo 👋")
  })
})

describe("producers on a closed stream", () => {
  it("answers 409 with Stream-Closed to any producer's append but a retry of the close, whatever its epoch and seq", async () => {
    const { baseUrl } = await start()
    const url = `${baseUrl}/v1/stream/finished`
    expect((await fetch(url, { method: "PUT", headers: { "content-type": "text/plain" } })).status).toBe(201)
    const append = (epoch: number, seq: number, extra: Record<string, string> = {}) =>
      fetch(url, {
        method: "POST",
        headers: {
          "content-type": "text/plain",
          "producer-id": "writer",
          "producer-epoch": String(epoch),
          "producer-seq": String(seq),
          ...extra,
        },
        body: "words",
      })
    expect((await append(1, 0)).status).toBe(200)
    const closing = await append(1, 1, { "stream-closed": "true" })
    expect(closing.status).toBe(200)
    // A retry of the close is answered as it was.
    expect((await append(1, 1, { "stream-closed": "true" })).status).toBe(204)
    for (const [epoch, seq] of [
      [1, 5],
      [0, 0],
      [2, 3],
    ] as const) {
      const refused = await append(epoch, seq)
      expect(refused.status).toBe(409)
      expect(refused.headers.get("stream-closed")).toBe("true")
    }
  })
})
