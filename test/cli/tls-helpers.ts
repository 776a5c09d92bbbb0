// TLS for the tests: a self-signed certificate made with Debian's openssl, and small HTTP/2
// clients (node:http2) that trust it. Without openssl the TLS tests skip — except under
// HERALD_TEST_STRICT=1 (CI), where they fail.
import { execFileSync } from "node:child_process"
import { once } from "node:events"
import { readFileSync } from "node:fs"
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from "node:http2"
import { join } from "node:path"
import { createParser, type ServerSentEvent } from "../../src/protocol/index.js"
import { startHub, tempCwd } from "./cli-helpers.js"

/** A certificate for localhost and 127.0.0.1, its key, and the certificate's bytes for `ca`. */
export interface TestCertificate {
  readonly certFile: string
  readonly keyFile: string
  readonly ca: Buffer
}

/** Whether openssl is there (strict mode throws instead of saying no). */
export function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" })
    return true
  } catch {
    if (process.env.HERALD_TEST_STRICT === "1") {
      throw new Error("HERALD_TEST_STRICT=1 and no openssl on PATH: install Debian's openssl package.")
    }
    return false
  }
}

/** Makes a self-signed P-256 certificate for localhost and 127.0.0.1 in `dir`, valid two days. */
export function makeCertificate(dir: string): TestCertificate {
  const certFile = join(dir, "cert.pem")
  const keyFile = join(dir, "key.pem")
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdio: "ignore" },
  )
  return { certFile, keyFile, ca: readFileSync(certFile) }
}

/** An HTTP/2 session to `origin` that trusts `ca`, with the server's settings received. */
export async function connectH2(origin: string, ca: Buffer): Promise<ClientHttp2Session> {
  const session = connect(origin, { ca })
  // A server that ends the session (rapid reset) makes it emit "error"; the tests look at "close".
  session.on("error", () => undefined)
  // Its SETTINGS (the stream cap) are known once they arrived, which is after "connect".
  await once(session, "remoteSettings")
  return session
}

/** An answered HTTP/2 request: status, headers and the whole body as text. */
export async function h2Request(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body?: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  const stream = session.request(headers, { endStream: body === undefined })
  if (body !== undefined) stream.end(body)
  const [response] = (await once(stream, "response")) as [IncomingHttpHeaders]
  let text = ""
  stream.setEncoding("utf8")
  for await (const chunk of stream) text += chunk
  return { status: Number(response[":status"]), headers: response, text }
}

/** A subscription over HTTP/2: its stream, its response head once there, and the events so far. */
export interface H2Subscription {
  readonly stream: ClientHttp2Stream
  readonly response: Promise<IncomingHttpHeaders>
  readonly events: ServerSentEvent[]
  /** `retry:` values received. */
  readonly retries: number[]
}

/** Opens `GET path` as an event stream on `session`. */
export function h2Subscribe(session: ClientHttp2Session, path: string): H2Subscription {
  const stream = session.request({ ":path": path, accept: "text/event-stream" })
  stream.on("error", () => undefined)
  const events: ServerSentEvent[] = []
  const retries: number[] = []
  const parser = createParser({ onEvent: (event) => events.push(event), onRetry: (ms) => retries.push(ms) })
  stream.on("data", (chunk: Buffer) => parser.feed(chunk))
  const response = once(stream, "response").then(([headers]) => headers as IncomingHttpHeaders)
  return { stream, response, events, retries }
}

/** Publishes one update with a dev-mode local client's rights (no token: dev mode trusts loopback). */
export async function h2Publish(session: ClientHttp2Session, hubPath: string, topic: string, data: string) {
  return h2Request(
    session,
    { ":method": "POST", ":path": hubPath, "content-type": "application/x-www-form-urlencoded" },
    new URLSearchParams({ topic, data }).toString(),
  )
}

/** The `herald_connections` gauge, read from `/metrics` over `session`. */
export async function connectionsGauge(session: ClientHttp2Session): Promise<number> {
  const { text } = await h2Request(session, { ":path": "/metrics" })
  const match = /^herald_connections (\d+)/m.exec(text)
  if (match === null) throw new Error(`no herald_connections in /metrics:\n${text.slice(0, 500)}`)
  return Number(match[1])
}

/** Resolves once `herald_connections` reads `expected`; rejects after `timeoutMs`. */
export async function untilConnections(
  session: ClientHttp2Session,
  expected: number,
  timeoutMs = 5000,
): Promise<void> {
  const started = Date.now()
  let open = await connectionsGauge(session)
  while (open !== expected) {
    if (Date.now() - started > timeoutMs) {
      throw new Error(`${open} connections open after ${timeoutMs} ms, not ${expected}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
    open = await connectionsGauge(session)
  }
}

/** A dev-mode hub on TLS in a fresh directory, with its certificate. */
export async function startTlsHub(extra: readonly string[] = []) {
  const cwd = tempCwd()
  const certificate = makeCertificate(cwd)
  const hub = await startHub(
    [
      "--engine",
      "memory",
      "--port",
      "0",
      "--tls-cert",
      certificate.certFile,
      "--tls-key",
      certificate.keyFile,
      ...extra,
    ],
    { cwd },
  )
  return { hub, certificate, origin: new URL(hub.hubUrl).origin, cwd }
}
