// SSE servers for `herald doctor`'s tests, each one right or wrong in one way on purpose, all
// on loopback: a herald/server app, a gzip middleware, a stream without heartbeats, one without
// ids, a wrong content type, a 200 that closes at once, and HTTP/2 over TLS.
import { execFileSync } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { createSecureServer, type Http2SecureServer } from "node:http2"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { constants, createGzip } from "node:zlib"
import { encode } from "../../src/protocol/index.js"
import { createChannel, createSSE } from "../../src/server/index.js"
import { listen, stop } from "../server/helpers.js"

/** Events this large fill nginx's 4 KiB proxy buffer in four: buffering shows as bursts of four. */
const LARGE_DATA = "x".repeat(1000)
/** How often the servers send an event. */
const EVENT_EVERY_MS = 100

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** One clock for every ticking stream, so ids are global and a reconnect sees the next ones, not 1 again. */
let ticks = 0

/**
 * Answers 200 with `headers`, then writes `frame(n)` every {@link EVENT_EVERY_MS} (n from the
 * shared clock) until the client goes. Live only: a reconnect with Last-Event-ID gets no replay.
 */
function ticking(
  res: ServerResponse,
  headers: Record<string, string>,
  frame: (n: number) => string,
  write: (text: string) => void = (text) => res.write(text),
): void {
  res.writeHead(200, headers)
  const timer = setInterval(() => write(frame(++ticks)), EVENT_EVERY_MS)
  res.on("close", () => clearInterval(timer))
}

const PLAIN_SSE = { "content-type": "text/event-stream", "cache-control": "no-cache" }

/**
 * One node:http server with a path per behaviour:
 * - `/herald`: a herald/server app done right (ids, history, heartbeats, retry), large events;
 * - `/herald-buffered`: the same app asking for buffering (`X-Accel-Buffering: yes`), as a
 *   server that never heard of the header gets from nginx by default;
 * - `/gzip`: compression middleware that flushes only when zlib's buffer fills;
 * - `/gzip-flushed`: compression that flushes every event;
 * - `/no-heartbeat`, `/no-ids`, `/text-plain`, `/closes`: one fault each (the ticking ones, live
 *   only, also ignore Last-Event-ID).
 */
export async function startMisbehavingServers(): Promise<{ url: string; close(): Promise<void> }> {
  const channel = createChannel({ history: true })
  const sse = createSSE({ heartbeatMs: 300 })
  const buffered = createSSE({ heartbeatMs: 300, headers: { "x-accel-buffering": "yes" } })
  let published = 0
  const publisher = setInterval(
    () => channel.publish({ data: `${++published} ${LARGE_DATA}` }),
    EVENT_EVERY_MS,
  )
  const routes: Record<string, Handler> = {
    "/herald": (req, res) => channel.subscribe(sse.connect(req, res)),
    "/herald-buffered": (req, res) => channel.subscribe(buffered.connect(req, res)),
    "/gzip": (_req, res) => {
      const gzip = createGzip()
      gzip.pipe(res)
      ticking(
        res,
        { ...PLAIN_SSE, "content-encoding": "gzip" },
        (n) => encode({ id: String(n), data: `${n}` }),
        (text) => gzip.write(text),
      )
    },
    "/gzip-flushed": (_req, res) => {
      const gzip = createGzip()
      gzip.pipe(res)
      ticking(
        res,
        { ...PLAIN_SSE, "content-encoding": "gzip" },
        (n) => encode({ id: String(n), data: `${n}` }),
        (text) => {
          gzip.write(text)
          gzip.flush(constants.Z_SYNC_FLUSH)
        },
      )
    },
    "/no-heartbeat": (_req, res) => ticking(res, PLAIN_SSE, (n) => encode({ id: String(n), data: `${n}` })),
    "/no-ids": (_req, res) => ticking(res, PLAIN_SSE, (n) => encode({ data: `${n}` })),
    "/text-plain": (_req, res) =>
      ticking(res, { "content-type": "text/plain" }, (n) => encode({ id: String(n), data: `${n}` })),
    // Headers never flushed: what a client sees of a server, or a buffering proxy, holding them.
    "/holds-headers": () => {},
    "/closes": (_req, res) => {
      res.writeHead(200, PLAIN_SSE)
      res.end()
    },
  }
  const { server, url } = await listen((req, res) => {
    const route = routes[new URL(req.url ?? "/", "http://x").pathname]
    if (route === undefined) res.writeHead(404).end()
    else route(req, res)
  })
  return {
    url,
    async close() {
      clearInterval(publisher)
      await Promise.all([sse.close({ deadlineMs: 50 }), buffered.close({ deadlineMs: 50 })])
      await stop(server as Server)
    },
  }
}

/**
 * A herald/server app over HTTP/2 with TLS (HTTP/1.1 fallback by ALPN), on a self-signed
 * certificate made by `openssl` for this run. Undefined when there is no openssl.
 */
export async function startHttp2Server(): Promise<{ url: string; close(): Promise<void> } | undefined> {
  const dir = mkdtempSync(join(tmpdir(), "herald-doctor-tls-"))
  const key = join(dir, "key.pem")
  const cert = join(dir, "cert.pem")
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
      ],
      { stdio: "ignore" },
    )
  } catch {
    rmSync(dir, { recursive: true, force: true })
    return undefined
  }
  const channel = createChannel({ history: true })
  const sse = createSSE({ heartbeatMs: 300 })
  let published = 0
  const publisher = setInterval(() => channel.publish({ data: String(++published) }), EVENT_EVERY_MS)
  const server: Http2SecureServer = createSecureServer(
    { key: readFileSync(key), cert: readFileSync(cert), allowHTTP1: true },
    (req, res) => channel.subscribe(sse.connect(req, res)),
  )
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    async close() {
      clearInterval(publisher)
      await sse.close({ deadlineMs: 50 })
      await new Promise((resolve) => server.close(resolve))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
