// A stream deleted and made again at its URL is another stream: what a request checked against
// the old one (its owner, its content type, its data) must never reach the new one, on any engine.
import { request as httpRequest } from "node:http"
import { afterEach, describe, expect, it } from "vitest"
import type { Engine } from "../../src/engine/engine.js"
import { logOf } from "../../src/streams/stream.js"
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

/** `engine` whose writes to the log `name` (its making) wait for `gate` first. */
function holdingWrites(engine: Engine, name: string, gate: Promise<void>): Engine {
  const held =
    <A extends unknown[], R>(write: (log: string, ...rest: A) => Promise<R>) =>
    async (log: string, ...rest: A): Promise<R> => {
      if (log === name) await gate
      return write(log, ...rest)
    }
  return new Proxy(engine, {
    get(target, property) {
      if (property === "create") return held(target.create.bind(target))
      if (property === "append") return held(target.append.bind(target))
      const value = Reflect.get(target, property, target)
      return typeof value === "function" ? value.bind(target) : value
    },
  })
}

const put = (url: string, headers: Record<string, string> = {}, body?: string) =>
  fetch(url, {
    method: "PUT",
    headers: { "content-type": "text/plain", ...headers },
    ...(body === undefined ? {} : { body }),
  })

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

    it("reads a fork's inherited data only from the stream it forked, not from one made at its source's path since (410), and never loops", async () => {
      const engine = kind.open()
      served = await serveStreams(engine)
      const source = `${served.baseUrl}/v1/stream/s`
      const fork = `${served.baseUrl}/v1/stream/f`
      expect((await put(source, {}, "old source data|")).status).toBe(201)
      expect((await put(fork, { "stream-forked-from": "/v1/stream/s" }, "fork data")).status).toBe(201)
      expect(await (await fetch(`${fork}?offset=-1`)).text()).toBe("old source data|fork data")
      // The source's log goes as an expiry takes it, and another stream is made at its path.
      await engine.delete(logOf("/v1/stream/s"))
      expect((await put(source, {}, "SECRET of another stream")).status).toBe(201)
      const stale = await fetch(`${fork}?offset=-1`)
      expect(stale.status).toBe(410)
      expect(await stale.text()).not.toContain("SECRET")
      // A stream made at the source's path as a fork of the fork: each refers to the other now.
      await engine.delete(logOf("/v1/stream/s"))
      expect((await put(source, { "stream-forked-from": "/v1/stream/f" })).status).toBe(201)
      const started = performance.now()
      expect((await fetch(`${fork}?offset=-1`)).status).toBe(410)
      expect((await fetch(`${source}?offset=-1`)).status).toBe(410)
      expect(performance.now() - started).toBeLessThan(5000)
    })

    it("makes a stream with its first body and its close in one step: an identical PUT racing it gets 200, and the body is stored once", async () => {
      let open: () => void = () => {}
      const gate = new Promise<void>((resolve) => {
        open = resolve
      })
      served = await serveStreams(holdingWrites(kind.open(), logOf("/v1/stream/both"), gate))
      const url = `${served.baseUrl}/v1/stream/both`
      const headers = { "stream-closed": "true" }
      const first = put(url, headers, "the whole story")
      await new Promise((resolve) => setTimeout(resolve, 50))
      const second = put(url, headers, "the whole story")
      await new Promise((resolve) => setTimeout(resolve, 50))
      open()
      const answers = await Promise.all([first, second])
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 201])
      expect(answers[0].headers.get("stream-next-offset")).toBe(answers[1].headers.get("stream-next-offset"))
      expect(answers.map((answer) => answer.headers.get("stream-closed"))).toEqual(["true", "true"])
      expect(await (await fetch(`${url}?offset=-1`)).text()).toBe("the whole story")
    })

    it("answers 200 to a PUT whose content type differs only in its parameters, made before it or racing it, as appends ignore them", async () => {
      let open: () => void = () => {}
      const gate = new Promise<void>((resolve) => {
        open = resolve
      })
      served = await serveStreams(holdingWrites(kind.open(), logOf("/v1/stream/typed"), gate))
      const url = `${served.baseUrl}/v1/stream/typed`
      const first = put(url, { "content-type": "application/json" })
      await new Promise((resolve) => setTimeout(resolve, 50))
      // fetch sends a string body as `text/plain;charset=UTF-8` of its own accord.
      const second = put(url, { "content-type": "application/json; charset=utf-8" })
      await new Promise((resolve) => setTimeout(resolve, 50))
      open()
      const answers = await Promise.all([first, second])
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 201])
      expect((await put(url, { "content-type": "application/json;charset=UTF-8" })).status).toBe(200)
      expect((await put(url, { "content-type": "text/plain; charset=utf-8" })).status).toBe(409)
      const append = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8" },
        body: "1",
      })
      expect(append.status).toBe(204)
    })

    it("answers a PUT of a stream that goes right after the look from that look, and makes no empty stream", async () => {
      const engine = kind.open()
      let vanish = false
      served = await serveStreams(
        new Proxy(engine, {
          get(target, property) {
            if (property === "head")
              return async (log: string) => {
                const head = await target.head(log)
                // Deleted (or expired) just after this request looked.
                if (vanish && log === logOf("/v1/stream/brief")) await target.delete(log)
                return head
              }
            const value = Reflect.get(target, property, target)
            return typeof value === "function" ? value.bind(target) : value
          },
        }),
      )
      const url = `${served.baseUrl}/v1/stream/brief`
      expect((await put(url, {}, "body")).status).toBe(201)
      vanish = true
      expect((await put(url, {}, "body")).status).toBe(200)
      vanish = false
      expect(await engine.head(logOf("/v1/stream/brief"))).toBeUndefined()
    })

    it.each([
      ["while a delete of the old one marked it", "before"],
      ["between a delete's stop flag on the old one and its close", "after"],
    ] as const)("does not mark deleted a stream made again at the path %s (404)", async (_, when) => {
      const engine = kind.open()
      const log = logOf("/v1/stream/src")
      let replace = false
      // Deleted for good by another request, and made again, just before or just after this mark.
      const replaceOnce = async (args: Parameters<Engine["requestStop"]>) => {
        if (!replace || args[0] !== log) return
        replace = false
        await engine.delete(log)
        await engine.create(log, (await engine.head(logOf("/v1/stream/template")))?.config)
      }
      served = await serveStreams(
        new Proxy(engine, {
          get(target, property) {
            if (property === "requestStop")
              return async (...args: Parameters<Engine["requestStop"]>) => {
                if (when === "before") await replaceOnce(args)
                const result = await target.requestStop(...args)
                if (when === "after") await replaceOnce(args)
                return result
              }
            const value = Reflect.get(target, property, target)
            return typeof value === "function" ? value.bind(target) : value
          },
        }),
      )
      const source = `${served.baseUrl}/v1/stream/src`
      expect((await put(`${served.baseUrl}/v1/stream/template`)).status).toBe(201)
      expect((await put(source, {}, "data")).status).toBe(201)
      expect(
        (await put(`${served.baseUrl}/v1/stream/child`, { "stream-forked-from": "/v1/stream/src" })).status,
      ).toBe(201)
      replace = true
      expect((await fetch(source, { method: "DELETE" })).status).toBe(404)
      expect(replace).toBe(false)
      expect(await engine.head(log)).toMatchObject({ closed: false, stopRequested: false })
      expect((await fetch(`${source}?offset=-1`)).status).toBe(200)
    })

    it("undoes a fork whose source a delete took meanwhile, answering 404, instead of a fork that reads 410 for ever", async () => {
      let open: () => void = () => {}
      const gate = new Promise<void>((resolve) => {
        open = resolve
      })
      const engine = kind.open()
      served = await serveStreams(holdingWrites(engine, logOf("/v1/stream/late-fork"), gate))
      const source = `${served.baseUrl}/v1/stream/doomed`
      const fork = `${served.baseUrl}/v1/stream/late-fork`
      expect((await put(source, {}, "data")).status).toBe(201)
      // The fork's marker is made, its log waits: the delete sees a marker naming no fork yet.
      const forking = put(fork, { "stream-forked-from": "/v1/stream/doomed" })
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect((await fetch(source, { method: "DELETE" })).status).toBe(204)
      open()
      expect((await forking).status).toBe(404)
      expect((await fetch(`${fork}?offset=-1`)).status).toBe(404)
      expect((await fetch(source, { method: "HEAD" })).status).toBe(404)
    })
  })
}
