// A test server reproducing the handlers of web-platform-tests eventsource/resources
// (message.py, status-error.py, redirect, reconnect-fail.py, last-event-id.py, cache-control…)
// plus probes the ported cases query (request counts, disconnects). Loopback only, port 0.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/** What the server saw for one test key. */
export interface KeyStats {
  requests: number
  /** Requests whose connection the client closed before the response ended. */
  aborted: number
  /** The Last-Event-ID header of each request ("" when absent), decoded from UTF-8. */
  lastEventIds: string[]
  /** The path (with query) of each request. */
  paths: string[]
}

export interface WptServer {
  /** `http://127.0.0.1:<port>` */
  origin: string
  /** Serves `body` at `path` (the browser bundles and the page). */
  setAsset(path: string, body: string, contentType: string): void
  close(): Promise<void>
}

const EVENT_STREAM = "text/event-stream"

export async function startWptServer(): Promise<WptServer> {
  const stats = new Map<string, KeyStats>()
  const assets = new Map<string, { body: string; contentType: string }>()
  const open = new Set<ServerResponse>()

  function record(request: IncomingMessage, query: URLSearchParams): KeyStats {
    const key = query.get("key") ?? ""
    let entry = stats.get(key)
    if (!entry) {
      entry = { requests: 0, aborted: 0, lastEventIds: [], paths: [] }
      stats.set(key, entry)
    }
    entry.requests++
    entry.lastEventIds.push(lastEventIdOf(request))
    entry.paths.push(request.url ?? "")
    return entry
  }

  const handlers: Record<string, (req: IncomingMessage, res: ServerResponse, q: URLSearchParams) => void> = {
    // message.py: answers `message` (default "data: data") + "\n\n" (unless newline=none) with
    // Content-Type `mime`, then ends, after `sleep` ms when given.
    "/message": (req, res, q) => {
      const entry = record(req, q)
      const mime = q.get("mime") ?? EVENT_STREAM
      const headers: Record<string, string> = mime === "none" ? {} : { "Content-Type": mime }
      res.writeHead(Number(q.get("status") ?? 200), headers)
      const body = `${q.get("message") ?? "data: data"}${q.get("newline") === "none" ? "" : "\n\n"}`
      const sleep = Number(q.get("sleep") ?? 0)
      if (sleep === 0) return void res.end(body)
      res.write(body)
      trackAbort(req, res, entry)
      setTimeout(() => res.end(), sleep)
    },
    // status-error.py: any status, with an event-stream body that must not be read.
    "/status": (req, res, q) => {
      record(req, q)
      res.writeHead(Number(q.get("status")), { "Content-Type": EVENT_STREAM })
      res.end(Number(q.get("status")) === 204 ? undefined : "retry: 50\ndata: data\n\n")
    },
    // redirect.py: `status` to `location`.
    "/redirect": (req, res, q) => {
      record(req, q)
      res.writeHead(Number(q.get("status") ?? 302), { Location: q.get("location") ?? "/message" })
      res.end()
    },
    // reconnect-fail.py: "opened", then "reconnected", then 204 for good.
    "/reconnect-fail": (req, res, q) => {
      const { requests } = record(req, q)
      if (requests >= 3) return void res.writeHead(204).end()
      res.writeHead(200, { "Content-Type": EVENT_STREAM })
      res.end(requests === 1 ? "retry: 50\ndata: opened\n\n" : "data: reconnected\n\n")
    },
    // last-event-id.py: first sends `id`, then echoes the Last-Event-ID it receives as data.
    "/last-event-id": (req, res, q) => {
      record(req, q)
      res.writeHead(200, { "Content-Type": EVENT_STREAM })
      const seen = req.headers["last-event-id"] === undefined ? undefined : lastEventIdOf(req)
      if (seen === undefined) res.end(`retry: 50\nid: ${q.get("id") ?? ""}\ndata: first\n\n`)
      else res.end(`data: ${seen}\n\n`)
    },
    // request-accept.py / cache-control.py / request-post-to-connect: echo what the request carried.
    "/echo": (req, res, q) => {
      record(req, q)
      let body = ""
      req.setEncoding("utf8")
      req.on("data", (chunk: string) => {
        body += chunk
      })
      req.on("end", () => {
        res.writeHead(200, { "Content-Type": EVENT_STREAM })
        const seen = {
          method: req.method,
          accept: req.headers.accept ?? null,
          cacheControl: req.headers["cache-control"] ?? null,
          authorization: req.headers.authorization ?? null,
          lastEventId: req.headers["last-event-id"] === undefined ? null : lastEventIdOf(req),
          body,
        }
        res.end(`retry: 50\ndata: ${JSON.stringify(seen)}\n\n`)
      })
    },
    // Holds the stream open (a comment, then nothing) and records when the client goes away.
    "/hang": (req, res, q) => {
      const entry = record(req, q)
      res.writeHead(200, { "Content-Type": EVENT_STREAM })
      res.write(q.get("message") ?? ": open\n\n")
      trackAbort(req, res, entry)
    },
    // One event written a few bytes at a time: a CRLF split between writes, a multi-byte
    // character split between writes, then a second event.
    "/split": (req, res, q) => {
      const entry = record(req, q)
      res.writeHead(200, { "Content-Type": EVENT_STREAM })
      const bytes = Buffer.from("data: h\u00e9llo \u20ac\r\ndata: 2\r\n\r\nid: x\ndata: end\n\n", "utf8")
      const cuts = [7, 9, 12, 13, 15, 21, 22, 25, bytes.length]
      trackAbort(req, res, entry)
      let from = 0
      const next = (index: number): void => {
        if (res.destroyed) return
        const to = cuts[index]
        if (to === undefined) return void res.end()
        res.write(bytes.subarray(from, to))
        from = to
        setTimeout(() => next(index + 1), 5)
      }
      next(0)
    },
    "/stats": (_req, res, q) => {
      const entry = stats.get(q.get("key") ?? "") ?? { requests: 0, aborted: 0, lastEventIds: [], paths: [] }
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" })
      res.end(JSON.stringify(entry))
    },
  }

  function trackAbort(req: IncomingMessage, res: ServerResponse, entry: KeyStats): void {
    open.add(res)
    res.on("close", () => {
      open.delete(res)
      if (!res.writableEnded) entry.aborted++
    })
    req.on("error", () => {})
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost")
    const asset = assets.get(url.pathname)
    if (asset) {
      res.writeHead(200, { "Content-Type": asset.contentType, "Cache-Control": "no-store" })
      return void res.end(asset.body)
    }
    const handler = handlers[url.pathname]
    if (!handler) return void res.writeHead(404, { "Content-Type": "text/plain" }).end("no such handler")
    handler(req, res, url.searchParams)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo

  return {
    origin: `http://127.0.0.1:${port}`,
    setAsset(path, body, contentType) {
      assets.set(path, { body, contentType })
    },
    close() {
      for (const res of open) res.destroy()
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

/** Node reads header bytes as latin1; the client sent UTF-8, so decode the bytes again. */
function lastEventIdOf(request: IncomingMessage): string {
  const value = request.headers["last-event-id"]
  return typeof value === "string" ? Buffer.from(value, "latin1").toString("utf8") : ""
}
