import { once } from "node:events"
import { request as httpRequest } from "node:http"
import { afterEach, describe, expect, it } from "vitest"
import { healthMount } from "../../src/cli/health.js"
import { createRouter, exactPaths, type Mount } from "../../src/cli/router.js"
import { listen, recordingLogger, stop } from "../server/helpers.js"

const servers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of servers.splice(0)) await close()
})

async function serve(mounts: Mount[]) {
  const logger = recordingLogger()
  const { server, url } = await listen(createRouter(mounts, logger))
  servers.push(() => stop(server))
  return { url, logger }
}

const failing = (serves: string, path: string, handle: Mount["handle"]): Mount => ({
  serves,
  owns: exactPaths(path),
  handle,
})

describe("the router", () => {
  it("hands each path to the first app that owns it, and answers 404 naming what is served", async () => {
    const { url } = await serve([
      failing("/a", "/a", (_request, response) => void response.end("first")),
      failing("/a again", "/a", (_request, response) => void response.end("second")),
      healthMount(async () => undefined),
    ])
    expect(await (await fetch(`${url}/a?x=1`)).text()).toBe("first")
    expect(await (await fetch(`${url}/healthz`)).text()).toBe("ok")
    expect(await (await fetch(`${url}/readyz`)).text()).toBe("ready")
    const missing = await fetch(`${url}/nowhere`)
    expect(missing.status).toBe(404)
    expect(missing.headers.get("content-type")).toBe("application/problem+json")
    expect((await missing.json()).detail).toBe(
      "Nothing here. This server answers /a; /a again; /healthz and /readyz.",
    )
  })

  it("answers a handler that throws or rejects with a 500 problem, logs it without the query, and serves on", async () => {
    const { url, logger } = await serve([
      failing("/throws", "/throws", () => {
        throw new Error("sync bug")
      }),
      failing("/rejects", "/rejects", async () => {
        await Promise.resolve()
        throw new Error("async bug")
      }),
    ])
    for (const path of ["/throws?access_token=secret", "/rejects"]) {
      const response = await fetch(`${url}${path}`)
      expect(response.status).toBe(500)
      expect(response.headers.get("content-type")).toBe("application/problem+json")
      expect(await response.json()).toMatchObject({ status: 500, title: "Internal Server Error" })
    }
    expect(logger.entries.map((entry) => [entry.fields.path, String(entry.fields.err)])).toEqual([
      ["/throws", "Error: sync bug"],
      ["/rejects", "Error: async bug"],
    ])
    expect(JSON.stringify(logger.entries)).not.toContain("secret")
  })

  it("drops headers a failed handler had set, and cuts the connection when the response had begun", async () => {
    const { url, logger } = await serve([
      failing("/half", "/half", async (_request, response) => {
        response.writeHead(200, { "content-type": "text/plain" })
        response.write("partial ")
        await Promise.resolve()
        throw new Error("mid-response bug")
      }),
      failing("/set", "/set", (_request, response) => {
        response.setHeader("x-app", "1")
        throw new Error("before the head")
      }),
    ])
    const set = await fetch(`${url}/set`)
    expect(set.status).toBe(500)
    expect(set.headers.get("x-app")).toBeNull()
    // A complete-looking 200 would be a lie: the client must see the response break off.
    const request = httpRequest(`${url}/half`)
    request.end()
    const [response] = (await once(request, "response")) as [import("node:http").IncomingMessage]
    response.resume()
    const [error] = (await once(response, "error")) as [Error]
    expect(error.message).toMatch(/aborted/)
    expect(logger.entries).toHaveLength(2)
  })
})
