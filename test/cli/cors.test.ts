// herald serve's --cors-origins is one CORS policy for every app, with real requests: a page of an
// origin it names may call the Durable Streams and the AI endpoints as it may call the hub, and a
// page of any other origin gets no CORS grant (the browser keeps the answer from it); none named,
// none may. The AI endpoints' preflights allow every header the official SDKs send.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Anthropic from "@anthropic-ai/sdk"
import OpenAI from "openai"
import { afterEach, describe, expect, it } from "vitest"
import { createServedAI } from "../../src/cli/ai-app.js"
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

/** The AI endpoints as herald serve mounts them with `argv` (the demo model), served. */
function serveAI(argv: readonly string[]) {
  const engine = createMemoryEngine()
  const served = createServedAI(configOf(argv), engine, recordingLogger(), {}, createAdmission())
  cleanups.push(async () => {
    await served.close({ deadlineMs: 200 })
    await engine.close()
  })
  return serve(served.mount.handle)
}

/** A preflight of `method` on `url` from `origin`, asking for `headers`. */
function preflight(url: string, origin: string, method: string, headers: readonly string[] = []) {
  return fetch(url, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": method,
      ...(headers.length === 0 ? {} : { "access-control-request-headers": headers.join(",") }),
    },
  })
}

/** The headers of a request the official SDKs send, less those a browser sends without a preflight or sets itself. */
async function sdkHeaders(): Promise<string[]> {
  const seen = new Set<string>()
  const base = await serve(async (request, response) => {
    for (const name of Object.keys(request.headers)) seen.add(name)
    response.writeHead(400, { "content-type": "application/json" }).end('{"error":{"message":"recorded"}}')
  })
  const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: "key", maxRetries: 0, timeout: 5000 })
  const anthropic = new Anthropic({ baseURL: base, apiKey: "key", maxRetries: 0, timeout: 5000 })
  await openai.chat.completions
    .create({ model: "demo", messages: [{ role: "user", content: "hi" }] })
    .catch(() => {})
  await anthropic.messages
    .create({ model: "demo", max_tokens: 16, messages: [{ role: "user", content: "hi" }] })
    .catch(() => {})
  const notPreflighted = new Set([
    "host",
    "connection",
    "content-length",
    "accept",
    "accept-encoding",
    "accept-language",
  ])
  // Sec-* headers are the browser's own (forbidden to a page).
  return [...seen].filter((name) => !notPreflighted.has(name) && !name.startsWith("sec-")).sort()
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

describe("the AI endpoints of herald serve", () => {
  it("answer a preflight from an origin --cors-origins names with the methods and headers their clients use", async () => {
    const base = await serveAI(["--cors-origins", APP])
    const asked = [
      "content-type",
      "herald-on-disconnect",
      "last-event-id",
      "idempotency-key",
      "authorization",
    ]
    const allowed = await preflight(`${base}/v1/ai-sdk/chat`, APP, "POST", asked)
    expect(allowed.status).toBe(204)
    expect(allowed.headers.get("access-control-allow-origin")).toBe(APP)
    expect(allowed.headers.get("access-control-allow-methods")).toContain("POST")
    const granted = (allowed.headers.get("access-control-allow-headers") ?? "").split(", ")
    for (const header of asked) expect(granted).toContain(header)
    const refused = await preflight(`${base}/v1/chat/completions`, OTHER, "POST", ["content-type"])
    expect(refused.status).toBe(403)
    expect(await refused.text()).toContain("--cors-origins")
  })

  it("allow every header the openai and anthropic SDKs send (x-stainless-*, anthropic-version, …)", async () => {
    const sent = await sdkHeaders()
    expect(sent).toEqual(expect.arrayContaining(["anthropic-version", "x-stainless-lang"]))
    const base = await serveAI(["--cors-origins", APP])
    const answer = await preflight(`${base}/v1/messages`, APP, "POST", sent)
    expect(answer.status).toBe(204)
    const granted = (answer.headers.get("access-control-allow-headers") ?? "").split(", ")
    expect(sent.filter((header) => !granted.includes(header))).toEqual([])
  })

  it("grant CORS on their answers to that origin alone, the generation id readable", async () => {
    const base = await serveAI(["--cors-origins", APP])
    const models = await fetch(`${base}/v1/models`, { headers: { origin: APP } })
    expect(models.status).toBe(200)
    expect(models.headers.get("access-control-allow-origin")).toBe(APP)
    expect(models.headers.get("vary")).toContain("Origin")
    const other = await fetch(`${base}/v1/models`, { headers: { origin: OTHER } })
    expect(other.headers.get("access-control-allow-origin")).toBeNull()
    const created = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { origin: APP, "content-type": "application/json" },
      body: JSON.stringify({ model: "demo", stream: true, messages: [{ role: "user", content: "hi" }] }),
    })
    expect(created.status).toBe(200)
    expect(created.headers.get("access-control-allow-origin")).toBe(APP)
    expect(created.headers.get("access-control-expose-headers")).toContain("herald-generation-id")
    expect(created.headers.get("herald-generation-id")).not.toBeNull()
    await created.body?.cancel()
  })

  it("grant CORS to no page of another origin without --cors-origins", async () => {
    const base = await serveAI([])
    const models = await fetch(`${base}/v1/models`, { headers: { origin: OTHER } })
    expect(models.headers.get("access-control-allow-origin")).toBeNull()
    expect((await preflight(`${base}/v1/models`, OTHER, "GET")).status).toBe(403)
  })
})
