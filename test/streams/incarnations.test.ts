// A stream deleted and made again at its URL is another stream: what a request checked against
// the old one (its owner, its content type, its data) must never reach the new one, on any engine.
import { request as httpRequest } from "node:http"
import { afterEach, describe, expect, it } from "vitest"
import { testEngines } from "../ai/engines.js"
import { type ServedStreams, serveStreams } from "./serve-streams.js"

let served: ServedStreams | undefined
afterEach(async () => {
  await served?.close()
  served = undefined
})

const ENGINES = await testEngines("streams-incarnations")

/** Starts a POST whose headers go now and whose body waits for `finish`; resolves with its status. */
function slowPost(url: string, contentType: string, length: number) {
  const post = httpRequest(url, {
    method: "POST",
    headers: { "content-type": contentType, "content-length": length },
  })
  const status = new Promise<number>((resolve, reject) => {
    post.on("response", (response) => {
      response.resume()
      resolve(response.statusCode ?? 0)
    })
    post.on("error", reject)
  })
  return { status, finish: (body: Buffer) => post.end(body), start: (part: Buffer) => post.write(part) }
}

for (const kind of ENGINES) {
  describe.skipIf(!kind.available)(`on the ${kind.name} engine`, () => {
    it("refuses an append whose stream was deleted and made again while its body came (404), and stores none of it", async () => {
      served = await serveStreams(kind.open())
      const url = `${served.baseUrl}/v1/stream/again`
      expect(
        (await fetch(url, { method: "PUT", headers: { "content-type": "application/octet-stream" } })).status,
      ).toBe(201)
      const post = slowPost(url, "application/octet-stream", 4)
      post.start(Buffer.from([0x00, 0xff]))
      // The handler has read the stream's head and is waiting for the rest of the body.
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect((await fetch(url, { method: "DELETE" })).status).toBe(204)
      const made = await fetch(url, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: '[{"ok":1}]',
      })
      expect(made.status).toBe(201)
      post.finish(Buffer.from("{}"))
      expect(await post.status).toBe(404)
      const read = await fetch(`${url}?offset=-1`)
      expect(await read.json()).toEqual([{ ok: 1 }])
    })
  })
}
