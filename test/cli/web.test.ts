// The web pages' server (src/cli/web.ts): what a browser gets for each file, and what it never gets.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { request } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gunzipSync } from "node:zlib"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { createRouter, type Mount } from "../../src/cli/router.js"
import { CONTENT_SECURITY_POLICY, webMount } from "../../src/cli/web.js"
import { listen, recordingLogger, stop } from "../server/helpers.js"

const root = mkdtempSync(join(tmpdir(), "herald-web-"))
const pages = join(root, "web")
mkdirSync(join(pages, "img"), { recursive: true })
const INDEX = `<!doctype html><title>Dashboard</title>${"<p>Herald</p>".repeat(100)}`
writeFileSync(join(pages, "index.html"), INDEX)
writeFileSync(join(pages, "chat.html"), "<!doctype html><title>Chat</title>")
writeFileSync(join(pages, "dashboard.css"), `body { color: red }\n${"/* padding */\n".repeat(50)}`)
writeFileSync(join(pages, "dashboard.js"), `export const answer = 42\n${"// padding\n".repeat(50)}`)
writeFileSync(join(pages, "img", "logo.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>")
const client = join(root, "herald-client.js")
writeFileSync(client, "export class EventSource {}")
afterAll(() => rmSync(root, { recursive: true, force: true }))

const servers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of servers.splice(0)) await close()
})

/** The web mount behind the router, after another app, as `herald serve` mounts it. */
async function serveWeb(directory = pages): Promise<string> {
  const other: Mount = {
    serves: "an app at /api",
    owns: (path) => path === "/api",
    handle: (_request, response) => void response.end("api"),
  }
  const router = createRouter(
    [other, webMount({ directory, extraFiles: { "herald-client.js": client } })],
    recordingLogger(),
  )
  const { server, url } = await listen((req, res) => void router(req, res))
  servers.push(() => stop(server))
  return url
}

/** A raw GET (fetch would decompress, and hide what was sent). */
function get(url: string, headers: Record<string, string> = {}, method = "GET") {
  return new Promise<{
    status: number
    headers: Record<string, string | string[] | undefined>
    body: Buffer
  }>((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      )
    })
    req.on("error", reject)
    req.end()
  })
}

describe("the web pages", () => {
  it("serves / and each file under /_herald/ with its content type", async () => {
    const url = await serveWeb()
    const cases: [string, string][] = [
      ["/", "text/html; charset=utf-8"],
      ["/chat", "text/html; charset=utf-8"],
      ["/_herald/dashboard.css", "text/css; charset=utf-8"],
      ["/_herald/dashboard.js", "text/javascript; charset=utf-8"],
      ["/_herald/img/logo.svg", "image/svg+xml"],
      ["/_herald/herald-client.js", "text/javascript; charset=utf-8"],
    ]
    for (const [path, type] of cases) {
      const response = await get(`${url}${path}`)
      expect(response.status, path).toBe(200)
      expect(response.headers["content-type"], path).toBe(type)
      expect(response.headers["x-content-type-options"], path).toBe("nosniff")
    }
    expect((await get(`${url}/`)).body.toString()).toBe(INDEX)
    // Other apps keep their paths: the pages take only theirs.
    expect((await get(`${url}/api`)).body.toString()).toBe("api")
  })

  it("sends a strict Content Security Policy: own scripts and styles only, nothing inline, no framing", async () => {
    const url = await serveWeb()
    const policy = (await get(`${url}/`)).headers["content-security-policy"]
    expect(policy).toBe(CONTENT_SECURITY_POLICY)
    const directives = new Map(
      CONTENT_SECURITY_POLICY.split(";").map((part) => {
        const [name, ...values] = part.trim().split(" ")
        return [name, values] as const
      }),
    )
    expect(directives.get("default-src")).toEqual(["'none'"])
    expect(directives.get("script-src")).toEqual(["'self'"])
    expect(directives.get("style-src")).toEqual(["'self'"])
    expect(directives.get("connect-src")).toEqual(["'self'"])
    expect(directives.get("frame-ancestors")).toEqual(["'none'"])
    expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe")
  })

  it("answers a revalidation with 304 by ETag, and asks browsers to revalidate", async () => {
    const url = await serveWeb()
    const first = await get(`${url}/_herald/dashboard.js`)
    const etag = first.headers.etag as string
    expect(etag).toMatch(/^"[\w-]+"$/)
    expect(first.headers["cache-control"]).toBe("no-cache")
    const again = await get(`${url}/_herald/dashboard.js`, { "if-none-match": etag })
    expect(again.status).toBe(304)
    expect(again.body.length).toBe(0)
    const changed = await get(`${url}/_herald/dashboard.js`, { "if-none-match": '"something-else"' })
    expect(changed.status).toBe(200)
    // Another file has another tag.
    expect((await get(`${url}/_herald/dashboard.css`)).headers.etag).not.toBe(etag)
  })

  it("gzips text for clients that take it, with its own ETag; never for those that refuse it", async () => {
    const url = await serveWeb()
    const plain = await get(`${url}/`)
    expect(plain.headers["content-encoding"]).toBeUndefined()
    expect(plain.headers.vary).toBe("Accept-Encoding")
    const zipped = await get(`${url}/`, { "accept-encoding": "gzip, deflate, br" })
    expect(zipped.headers["content-encoding"]).toBe("gzip")
    expect(zipped.body.length).toBeLessThan(plain.body.length)
    expect(Number(zipped.headers["content-length"])).toBe(zipped.body.length)
    expect(gunzipSync(zipped.body).toString()).toBe(INDEX)
    expect(zipped.headers.etag).not.toBe(plain.headers.etag)
    const refused = await get(`${url}/`, { "accept-encoding": "gzip;q=0, identity" })
    expect(refused.headers["content-encoding"]).toBeUndefined()
    const anything = await get(`${url}/`, { "accept-encoding": "*" })
    expect(anything.headers["content-encoding"]).toBe("gzip")
  })

  it("answers HEAD without a body, and refuses other methods", async () => {
    const url = await serveWeb()
    const head = await get(`${url}/`, {}, "HEAD")
    expect(head.status).toBe(200)
    expect(head.body.length).toBe(0)
    expect(head.headers["content-length"]).toBe(String(Buffer.byteLength(INDEX)))
    const post = await get(`${url}/`, {}, "POST")
    expect(post.status).toBe(405)
    expect(post.headers.allow).toBe("GET, HEAD")
  })

  it("404s what is not one of its files: unknown names, other directories, encoded traversal", async () => {
    const url = await serveWeb()
    for (const path of [
      "/_herald/missing.js",
      "/_herald/",
      "/_herald/img",
      "/_herald/..%2fweb%2findex.html",
      "/_herald/%2e%2e/%2e%2e/package.json",
      "/_herald/%E0%A4%A",
      "/index.html",
      "/nothing",
    ]) {
      const response = await get(`${url}${path}`)
      expect(response.status, path).toBe(404)
      expect(response.headers["content-type"], path).toBe("application/problem+json")
    }
  })

  it("says how to build the pages when they are missing", async () => {
    const url = await serveWeb(join(root, "not-built"))
    const response = await get(`${url}/`)
    expect(response.status).toBe(404)
    expect(JSON.parse(response.body.toString()).detail).toContain("npm run build")
  })
})
