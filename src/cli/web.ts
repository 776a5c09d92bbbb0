import { createHash } from "node:crypto"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import type { IncomingMessage, ServerResponse } from "node:http"
import { extname, join, relative, sep } from "node:path"
import { gzipSync } from "node:zlib"
import { sendProblem } from "../server/problem.js"
import type { Mount } from "./router.js"

/** Where the web pages' files are served: every file of the web directory, by its name. */
export const ASSETS_PREFIX = "/_herald/"

/**
 * The pages' policy: their own scripts, styles and connections only (the admin stream, the hub,
 * the AI endpoints are same-origin), no inline code, no framing, no plugins.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ")

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
}

/** Worth compressing: text. Images such as PNG are compressed already. */
const COMPRESSIBLE = new Set([".html", ".css", ".js", ".map", ".json", ".svg", ".txt"])

/** Options of {@link webMount}. */
export interface WebOptions {
  /** The built web directory (`dist/web`): `index.html` is `/`, `chat.html` is `/chat`, every file is under {@link ASSETS_PREFIX}. */
  readonly directory: string
  /** More files served under {@link ASSETS_PREFIX}, by name (the browser client bundle). */
  readonly extraFiles?: Readonly<Record<string, string>>
}

/** One file, ready to send: read, hashed and compressed once, at start. */
interface WebFile {
  readonly contentType: string
  readonly body: Buffer
  readonly etag: string
  readonly gzip: { readonly body: Buffer; readonly etag: string } | undefined
}

/**
 * The web pages of `herald serve` (the dashboard at `/`, the chat page at `/chat` once it
 * exists), static files held in memory: `ETag` and revalidation (`Cache-Control: no-cache`, so
 * a new version shows at once), gzip for clients that take it, and a strict Content Security
 * Policy. Without the pages (a build that skipped them), 404 says how to build them.
 */
export function webMount(options: WebOptions): Mount {
  const files = loadFiles(options)
  const pages = new Map<string, WebFile>()
  for (const [name, file] of files) {
    if (name === "index.html") pages.set("/", file)
    else if (name.endsWith(".html") && !name.includes("/")) pages.set(`/${name.slice(0, -5)}`, file)
  }
  const owns = (path: string): boolean => path === "/" || pages.has(path) || path.startsWith(ASSETS_PREFIX)
  return {
    serves: "the dashboard at /",
    owns,
    async handle(request, response) {
      const path = new URL(request.url ?? "/", "http://localhost").pathname
      const file = path.startsWith(ASSETS_PREFIX)
        ? files.get(decodeName(path.slice(ASSETS_PREFIX.length)))
        : pages.get(path)
      if (file === undefined) {
        sendProblem(
          response,
          404,
          !files.has("index.html")
            ? "The web pages are not built: run `npm run build` in Herald's directory."
            : `There is no file at ${path}.`,
        )
        return
      }
      if (request.method !== "GET" && request.method !== "HEAD") {
        sendProblem(response, 405, "Use GET here.", { allow: "GET, HEAD" })
        return
      }
      sendFile(request, response, file)
    },
  }
}

function sendFile(request: IncomingMessage, response: ServerResponse, file: WebFile): void {
  const gzip =
    file.gzip !== undefined && acceptsGzip(request.headers["accept-encoding"]) ? file.gzip : undefined
  const etag = gzip?.etag ?? file.etag
  const headers: Record<string, string> = {
    "content-type": file.contentType,
    etag,
    // Revalidate every time: file names carry no version, and a 304 costs a round trip only.
    "cache-control": "no-cache",
    vary: "Accept-Encoding",
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
  }
  if (matches(request.headers["if-none-match"], etag)) {
    response.writeHead(304, headers).end()
    return
  }
  const body = gzip?.body ?? file.body
  if (gzip !== undefined) headers["content-encoding"] = "gzip"
  headers["content-length"] = String(body.length)
  response.writeHead(200, headers)
  response.end(request.method === "HEAD" ? undefined : body)
}

/** Reads every file once; an absent directory serves nothing. */
function loadFiles(options: WebOptions): Map<string, WebFile> {
  const files = new Map<string, WebFile>()
  const { directory } = options
  if (existsSync(directory)) {
    for (const name of readdirSync(directory, { recursive: true, encoding: "utf8" })) {
      const path = join(directory, name)
      if (statSync(path).isFile()) files.set(relative(directory, path).split(sep).join("/"), prepare(path))
    }
  }
  for (const [name, path] of Object.entries(options.extraFiles ?? {})) {
    if (existsSync(path)) files.set(name, prepare(path))
  }
  return files
}

function prepare(path: string): WebFile {
  const extension = extname(path).toLowerCase()
  const body = readFileSync(path)
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`
  const compressed = COMPRESSIBLE.has(extension) ? gzipSync(body, { level: 9 }) : undefined
  return {
    contentType: CONTENT_TYPES[extension] ?? "application/octet-stream",
    body,
    etag,
    gzip:
      compressed !== undefined && compressed.length < body.length
        ? { body: compressed, etag: `${etag.slice(0, -1)}-gz"` }
        : undefined,
  }
}

/** Whether an `Accept-Encoding` header takes gzip: named (or `*`) without `q=0`. */
function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false
  const weights = new Map<string, number>()
  for (const part of header.toLowerCase().split(",")) {
    const [coding = "", ...params] = part.split(";").map((each) => each.trim())
    const q = params.find((param) => param.startsWith("q="))
    weights.set(coding, q === undefined ? 1 : Number(q.slice(2)))
  }
  return (weights.get("gzip") ?? weights.get("*") ?? 0) > 0
}

/** Whether an `If-None-Match` header names `etag` (or is `*`). */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  return header.split(",").some((tag) => {
    const trimmed = tag.trim()
    return trimmed === "*" || trimmed === etag || trimmed === `W/${etag}`
  })
}

/** A path segment as a file name; `""` (never a file) when it is not valid percent-encoding. */
function decodeName(encoded: string): string {
  try {
    return decodeURIComponent(encoded)
  } catch {
    return ""
  }
}
