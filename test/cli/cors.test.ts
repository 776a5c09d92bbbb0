// herald serve's --cors-origins is one CORS policy for every app, with real requests: a page of an
// origin it names may call the Durable Streams as it may call the hub, and a page of any other
// origin gets no CORS grant (the browser keeps the answer from it); none named, none may.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { loadConfig } from "../../src/cli/config.js"
import { createServedStreams } from "../../src/cli/streams-mount.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createAdmission } from "../../src/server/admission.js"
import type { RequestHandler } from "../../src/server/index.js"
import { listen, recordingLogger, stop } from "../server/helpers.js"

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const APP = "https://app.example"
const OTHER = "https://other.example"

/** `handle` served on loopback; its base URL. */
async function serve(handle: RequestHandler) {
  const { server, url } = await listen((request, response) => void handle(request, response))
  cleanups.push(() => stop(server))
  return url
}

/** herald serve's config from `argv` (dev mode, in a temp directory). */
function configOf(argv: readonly string[]) {
  const cwd = mkdtempSync(join(tmpdir(), "herald-cors-"))
  cleanups.push(() => rmSync(cwd, { recursive: true, force: true }))
  return loadConfig({ argv: [...argv], env: {}, cwd })
}

/** The Durable Streams as herald serve mounts them with `argv`, served. */
function serveStreams(argv: readonly string[]) {
  const engine = createMemoryEngine()
  cleanups.push(() => engine.close())
  const served = createServedStreams(
    configOf(argv),
    engine,
    recordingLogger(),
    {
      openGenerationLog: async () => {
        throw new Error("no generation is read here")
      },
    },
    createAdmission(),
  )
  return serve(served.mount.handle)
}

describe("the Durable Streams of herald serve", () => {
  it("grant CORS to the origins --cors-origins names, and to no other", async () => {
    const base = await serveStreams(["--cors-origins", APP])
    const url = `${base}/v1/stream/cors`
    const created = await fetch(url, {
      method: "PUT",
      headers: { origin: APP, "content-type": "text/plain" },
    })
    expect(created.status).toBe(201)
    expect(created.headers.get("access-control-allow-origin")).toBe(APP)
    expect(created.headers.get("access-control-expose-headers")).toContain("Stream-Next-Offset")
    const other = await fetch(`${url}?offset=-1`, { headers: { origin: OTHER } })
    expect(other.headers.get("access-control-allow-origin")).toBeNull()
    const preflight = (origin: string) =>
      fetch(url, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "producer-id",
        },
      })
    const allowed = await preflight(APP)
    expect(allowed.status).toBe(204)
    expect(allowed.headers.get("access-control-allow-origin")).toBe(APP)
    const refused = await preflight(OTHER)
    expect(refused.status).toBe(403)
    expect(await refused.text()).toContain("--cors-origins")
  })

  it("grant CORS to no page of another origin without --cors-origins, as the hub", async () => {
    const base = await serveStreams([])
    const url = `${base}/v1/stream/cors`
    // Dev mode does not trust a page of another origin either: a 401, which it may not read.
    const created = await fetch(url, { method: "PUT", headers: { origin: OTHER } })
    expect(created.headers.get("access-control-allow-origin")).toBeNull()
    const preflight = await fetch(url, {
      method: "OPTIONS",
      headers: { origin: OTHER, "access-control-request-method": "PUT" },
    })
    expect(preflight.status).toBe(403)
  })

  it('grant CORS to any origin with --cors-origins "*"', async () => {
    const base = await serveStreams(["--cors-origins", "*"])
    const read = await fetch(`${base}/v1/stream/none?offset=-1`, { headers: { origin: OTHER } })
    expect(read.headers.get("access-control-allow-origin")).toBe("*")
  })
})
