// Forks (protocol section 4.2) on every engine: what a fork's reads, offsets, re-creations and
// expiry promise, whatever its source does meanwhile.
import { afterEach, describe, expect, it } from "vitest"
import { markerOf } from "../../src/streams/fork.js"
import { testEngines } from "../ai/engines.js"
import { type ServedStreams, serveStreams } from "./serve-streams.js"

let served: ServedStreams | undefined
afterEach(async () => {
  await served?.close()
  served = undefined
})

const ENGINES = await testEngines("streams-forks")

const TEXT = { "content-type": "text/plain" }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

for (const kind of ENGINES) {
  describe.skipIf(!kind.available)(`on the ${kind.name} engine`, () => {
    it("slides a fork's TTL with each read, one that stays in the range the fork inherits too (section 5.1)", async () => {
      // A response of 4 bytes: one append of the source per read.
      served = await serveStreams(kind.open(), { limits: { maxReadBytes: 4 } })
      const source = `${served.baseUrl}/v1/stream/src`
      const fork = `${served.baseUrl}/v1/stream/fork`
      expect((await fetch(source, { method: "PUT", headers: TEXT, body: "m000" })).status).toBe(201)
      for (let i = 1; i < 12; i++) {
        const body = `m${String(i).padStart(3, "0")}`
        expect((await fetch(source, { method: "POST", headers: TEXT, body })).status).toBe(204)
      }
      const made = await fetch(fork, {
        method: "PUT",
        headers: { "stream-forked-from": "/v1/stream/src", "stream-ttl": "1" },
      })
      expect(made.status).toBe(201)
      // Read for twice the fork's TTL, never past the fork point.
      let offset = "-1"
      for (let i = 0; i < 5; i++) {
        await sleep(400)
        const read = await fetch(`${fork}?offset=${offset}`)
        expect(read.status, `read ${i + 1}`).toBe(200)
        expect(await read.text()).toBe(`m${String(i).padStart(3, "0")}`)
        offset = read.headers.get("stream-next-offset") as string
      }
    })

    it("answers a retried fork PUT 200 though its source has grown or been deleted since, and 409 to another fork", async () => {
      served = await serveStreams(kind.open())
      const source = `${served.baseUrl}/v1/stream/src`
      const fork = `${served.baseUrl}/v1/stream/fork`
      expect((await fetch(source, { method: "PUT", headers: TEXT, body: "s1" })).status).toBe(201)
      const point = (await fetch(source, { method: "HEAD" })).headers.get("stream-next-offset") as string
      const put = (headers: Record<string, string>) =>
        fetch(fork, { method: "PUT", headers: { "stream-forked-from": "/v1/stream/src", ...headers } })
      expect((await put({})).status).toBe(201)
      // The source's tail, the default fork point, moves on.
      expect((await fetch(source, { method: "POST", headers: TEXT, body: "s2" })).status).toBe(204)
      expect((await put({})).status).toBe(200)
      expect((await put({ "stream-fork-offset": point, ...TEXT })).status).toBe(200)
      expect((await put({ "stream-fork-offset": "-1" })).status).toBe(409)
      expect((await put({ "stream-ttl": "60" })).status).toBe(409)
      expect((await put({ "content-type": "application/json" })).status).toBe(409)
      // Deleted: the fork still reads it (a soft delete), and a retry still finds the fork.
      expect((await fetch(source, { method: "DELETE" })).status).toBe(204)
      const retried = await put({ "stream-fork-offset": point })
      expect(retried.status).toBe(200)
      expect(retried.headers.get("stream-next-offset")).toBe(point)
      expect(await (await fetch(`${fork}?offset=-1`)).text()).toBe("s1")
    })

    it("answers 410 to an offset of a fork deleted and made again at its URL from the same point, and no 304 to its ETag", async () => {
      served = await serveStreams(kind.open())
      const source = `${served.baseUrl}/v1/stream/src`
      const fork = `${served.baseUrl}/v1/stream/fork`
      expect((await fetch(source, { method: "PUT", headers: TEXT, body: "S1" })).status).toBe(201)
      const made = await fetch(fork, { method: "PUT", headers: { "stream-forked-from": "/v1/stream/src" } })
      const point = made.headers.get("stream-next-offset") as string
      const append = async (body: string) => {
        const appended = await fetch(fork, { method: "POST", headers: TEXT, body })
        expect(appended.status).toBe(204)
        return appended.headers.get("stream-next-offset") as string
      }
      const afterA1 = await append("a1")
      await append("a2")
      const first = await fetch(`${fork}?offset=${point}`)
      expect(await first.text()).toBe("a1a2")
      const etag = first.headers.get("etag") as string
      // Made again from the same point, and appended to as much.
      expect((await fetch(fork, { method: "DELETE" })).status).toBe(204)
      const again = await fetch(fork, {
        method: "PUT",
        headers: { "stream-forked-from": "/v1/stream/src", "stream-fork-offset": point },
      })
      expect(again.status).toBe(201)
      expect(again.headers.get("stream-next-offset")).toBe(point)
      await append("B1")
      await append("B2")
      const revalidated = await fetch(`${fork}?offset=${point}`, { headers: { "if-none-match": etag } })
      expect(revalidated.status).toBe(200)
      expect(await revalidated.text()).toBe("B1B2")
      const resumed = await fetch(`${fork}?offset=${afterA1}`)
      expect(resumed.status).toBe(410)
      expect(await resumed.text()).not.toContain("B2")
    })

    it("gives a fork of a fork offsets that sort, each resuming where it was given", async () => {
      // A response of one append: each read gives the next offset.
      served = await serveStreams(kind.open(), { limits: { maxReadBytes: 1 } })
      const url = (name: string) => `${served?.baseUrl}/v1/stream/${name}`
      const fork = (name: string, from: string, offset?: string) =>
        fetch(url(name), {
          method: "PUT",
          headers: {
            "stream-forked-from": `/v1/stream/${from}`,
            ...(offset === undefined ? {} : { "stream-fork-offset": offset }),
          },
        })
      const append = (name: string, body: string) => fetch(url(name), { method: "POST", headers: TEXT, body })
      expect((await fetch(url("a"), { method: "PUT", headers: TEXT, body: "1" })).status).toBe(201)
      await append("a", "2")
      expect((await fork("b", "a")).status).toBe(201)
      await append("b", "3")
      const inB = (await append("b", "4")).headers.get("stream-next-offset") as string
      await append("b", "5")
      // Not b's offsets there: without the epoch of b's log, or with another's.
      expect((await fork("c", "b", inB.slice(0, inB.lastIndexOf("_")))).status).toBe(400)
      expect((await fork("c", "b", `${inB.slice(0, inB.lastIndexOf("_"))}_zzzzzzzz`)).status).toBe(400)
      // c forks b inside b's own appends, then appends its own.
      expect((await fork("c", "b", inB)).status).toBe(201)
      await append("c", "6")
      await append("c", "7")
      const offsets = ["-1"]
      let text = ""
      for (let i = 0; i < 8; i++) {
        const read = await fetch(`${url("c")}?offset=${offsets[offsets.length - 1]}`)
        expect(read.status).toBe(200)
        text += await read.text()
        offsets.push(read.headers.get("stream-next-offset") as string)
        if (read.headers.get("stream-up-to-date") === "true") break
      }
      expect(text).toBe("123467")
      const given = offsets.slice(1)
      expect(given).toEqual([...given].sort())
      expect(new Set(given).size).toBe(given.length)
      for (const [i, offset] of given.entries()) {
        const rest = await fetch(`${url("c")}?offset=${offset}`, { headers: {} })
        expect(rest.status).toBe(200)
        expect(await rest.text(), offset).toBe("123467".slice(i + 1, i + 2))
      }
      // b's offset past c's fork point is not one of c's.
      const past = (await fetch(url("b"), { method: "HEAD" })).headers.get("stream-next-offset") as string
      expect((await fetch(`${url("c")}?offset=${past}`)).status).toBe(410)
    })

    it("leaves no fork marker once a fork and its source have expired", async () => {
      const engine = kind.open()
      served = await serveStreams(engine)
      const url = (name: string) => `${served?.baseUrl}/v1/stream/${name}`
      const expiresAt = new Date(Date.now() + 1500).toISOString()
      // A marker an earlier fork at a path left, which expires never (as they all did once).
      await engine.create(markerOf("/v1/stream/again", "/v1/stream/again-fork"))
      for (const [name, expiry] of [
        ["sliding", { "stream-ttl": "1" }],
        ["fixed", { "stream-expires-at": expiresAt }],
        ["again", { "stream-ttl": "1" }],
      ] as const) {
        expect((await fetch(url(name), { method: "PUT", headers: { ...TEXT, ...expiry } })).status).toBe(201)
        // The fork inherits its source's expiry.
        const forked = await fetch(url(`${name}-fork`), {
          method: "PUT",
          headers: { "stream-forked-from": `/v1/stream/${name}` },
        })
        expect(forked.status).toBe(201)
      }
      const markers = async () => (await engine.list({ prefix: "streams-fork:", limit: 10 })).logs.length
      expect(await markers()).toBe(3)
      // Past both expiries and the marker's sliding TTL (twice the fork's, fork-marker-ttl.ts).
      await sleep(2200)
      expect((await engine.list({ prefix: "streams:", limit: 10 })).logs).toHaveLength(0)
      expect(await markers()).toBe(0)
    })

    it("keeps the marker of a fork touched for longer than its TTL, live readers' touches too: its source's delete is soft", async () => {
      served = await serveStreams(kind.open(), { limits: { sseLifetimeMs: 2600 } })
      const url = (name: string) => `${served?.baseUrl}/v1/stream/${name}`
      for (const name of ["read", "followed"]) {
        expect((await fetch(url(name), { method: "PUT", headers: TEXT, body: `${name}|` })).status).toBe(201)
        const forked = await fetch(url(`${name}-fork`), {
          method: "PUT",
          headers: { "stream-forked-from": `/v1/stream/${name}`, "stream-ttl": "1" },
        })
        expect(forked.status).toBe(201)
      }
      // One fork read and appended to in turn, the other held by an SSE response, for more than
      // the marker's own TTL (2 s).
      const followed = fetch(`${url("followed-fork")}?offset=now&live=sse`).then((response) =>
        response.text(),
      )
      for (let i = 0; i < 7; i++) {
        await sleep(400)
        const touch =
          i % 2 === 0
            ? await fetch(`${url("read-fork")}?offset=now`)
            : await fetch(url("read-fork"), { method: "POST", headers: TEXT, body: String(i) })
        expect(touch.status).toBeLessThan(300)
      }
      await followed
      for (const name of ["read", "followed"]) {
        expect((await fetch(url(name), { method: "DELETE" })).status).toBe(204)
        const read = await fetch(`${url(`${name}-fork`)}?offset=-1`)
        expect(read.status, name).toBe(200)
        expect(await read.text()).toMatch(new RegExp(`^${name}\\|`))
      }
    })
  })
}
