// Forks (protocol section 4.2) on every engine: what a fork's reads, offsets, re-creations and
// expiry promise, whatever its source does meanwhile.
import { afterEach, describe, expect, it } from "vitest"
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
  })
}
