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
  })
}
