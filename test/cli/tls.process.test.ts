// `herald serve --tls-cert --tls-key` as a process: HTTP/2 with HTTP/1.1 fallback over TLS, and
// the bounds on an HTTP/2 connection (concurrent streams, stream resets, per-address admission).

import { once } from "node:events"
import type { IncomingMessage } from "node:http"
import { constants } from "node:http2"
import { get } from "node:https"
import { connect } from "node:net"
import { describe, expect, it } from "vitest"
import { waitUntil } from "../server/helpers.js"
import { heraldDone, tempCwd, useCliProcesses } from "./cli-helpers.js"
import {
  connectH2,
  connectionsGauge,
  h2Publish,
  h2Request,
  h2Subscribe,
  hasOpenssl,
  makeCertificate,
  startTlsHub,
  type TestCertificate,
  untilConnections,
} from "./tls-helpers.js"

useCliProcesses()

const TOPIC = "https://example.com/books/1"
const SUBSCRIBE = `/.well-known/mercure?topic=${encodeURIComponent(TOPIC)}`

/** `GET path` over HTTPS as HTTP/1.1 (no h2 in ALPN): the response, body unread. */
async function http1Get(
  origin: string,
  path: string,
  certificate: TestCertificate,
): Promise<IncomingMessage> {
  const request = get(new URL(path, origin), { ca: certificate.ca, headers: { accept: "text/event-stream" } })
  const [response] = (await once(request, "response")) as [IncomingMessage]
  return response
}

describe.skipIf(!hasOpenssl())("herald serve over TLS", () => {
  it("serves HTTP/2 (subscribe, publish, receive) and HTTP/1.1 over TLS, with https URLs in the log and banner", async () => {
    const { hub, certificate, origin } = await startTlsHub()
    expect(hub.hubUrl).toMatch(/^https:\/\/localhost:\d+\/\.well-known\/mercure$/)
    await hub.waitFor(/Subscriber token/)
    expect(hub.stdout()).toMatch(/listening on https:\/\/127\.0\.0\.1:\d+/)
    expect(hub.stdout()).toContain(`curl -X POST '${hub.hubUrl}'`)

    const session = await connectH2(origin, certificate.ca)
    // No Host header, as browsers send over HTTP/2: dev mode must read `:authority` to trust it.
    const subscription = h2Subscribe(session, SUBSCRIBE)
    const head = await subscription.response
    expect(head[":status"]).toBe(200)
    expect(head["content-type"]).toBe("text/event-stream; charset=utf-8")
    expect(head.connection).toBeUndefined()
    expect((await h2Publish(session, "/.well-known/mercure", TOPIC, "over h2")).status).toBe(200)
    await waitUntil(
      () => subscription.events.length === 1,
      () => undefined,
    )
    expect(subscription.events[0]?.data).toBe("over h2")
    subscription.stream.close()

    const health = await http1Get(origin, "/healthz", certificate)
    expect(health.httpVersion).toBe("1.1")
    expect(health.statusCode).toBe(200)
    health.resume()
    const stream = await http1Get(origin, SUBSCRIBE, certificate)
    expect(stream.statusCode).toBe(200)
    expect(stream.headers.connection).toBe("keep-alive")
    stream.destroy()

    session.close()
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })

  it("publish and listen stop at a certificate they do not trust, saying how to trust it; with NODE_EXTRA_CA_CERTS they go on", async () => {
    const { hub, certificate, cwd } = await startTlsHub()
    await hub.waitFor(/Subscriber token/)
    const hubArg = ["--hub", hub.hubUrl]
    const refused = await heraldDone(["publish", ...hubArg, TOPIC, "x"], { cwd })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/TLS certificate of .* is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT/)
    expect(refused.stderr).toContain("NODE_EXTRA_CA_CERTS=")
    // Not retried for ever as an outage: it ends at once.
    const listened = await heraldDone(["listen", ...hubArg, TOPIC], { cwd })
    expect(listened.code).toBe(1)
    expect(listened.stderr).toContain("NODE_EXTRA_CA_CERTS=")
    expect(listened.stderr).not.toContain("reconnecting")
    const trusted = await heraldDone(["publish", ...hubArg, TOPIC, "x"], {
      cwd,
      env: { NODE_EXTRA_CA_CERTS: certificate.certFile },
    })
    expect(trusted.stderr).toBe("")
    expect(trusted.code).toBe(0)
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })

  it("refuses at startup a certificate without its key, and a key that is not the certificate's", async () => {
    const cwd = tempCwd()
    const certificate = makeCertificate(cwd)
    const alone = await heraldDone(
      ["serve", "--engine", "memory", "--port", "0", "--tls-cert", certificate.certFile],
      {
        cwd,
      },
    )
    expect(alone.code).toBe(2)
    expect(alone.stderr).toContain("TLS needs a certificate and its key: set --tls-key / HERALD_TLS_KEY too")
    const other = makeCertificate(tempCwd())
    const mismatched = await heraldDone(
      [
        "serve",
        "--engine",
        "memory",
        "--port",
        "0",
        "--tls-cert",
        certificate.certFile,
        "--tls-key",
        other.keyFile,
      ],
      { cwd },
    )
    expect(mismatched.code).toBe(2)
    expect(mismatched.stderr).toContain(`${other.keyFile} is not the private key of ${certificate.certFile}`)
    const notPem = await heraldDone(
      [
        "serve",
        "--engine",
        "memory",
        "--port",
        "0",
        "--tls-cert",
        certificate.keyFile,
        "--tls-key",
        certificate.keyFile,
      ],
      { cwd },
    )
    expect(notPem.code).toBe(2)
    expect(notPem.stderr).toContain(`${certificate.keyFile} is not a PEM certificate`)
  })

  it("holds 200 streams on one connection up to --max-concurrent-streams; the next waits for a free one", async () => {
    const cap = 200
    const { hub, certificate, origin } = await startTlsHub(["--max-concurrent-streams", String(cap)])
    const session = await connectH2(origin, certificate.ca)
    expect(session.remoteSettings.maxConcurrentStreams).toBe(cap)
    const subscriptions = Array.from({ length: cap }, () => h2Subscribe(session, SUBSCRIBE))
    const heads = await Promise.all(subscriptions.map((subscription) => subscription.response))
    expect(heads.filter((head) => Number(head[":status"]) === 200)).toHaveLength(cap)

    let answered = false
    const waiting = h2Subscribe(session, SUBSCRIBE)
    void waiting.response.then(() => {
      answered = true
    })
    // A ping's answer comes after everything the server had to say: had the 201st stream been
    // sent and served, its head would be here by now.
    await new Promise<void>((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())))
    expect(answered).toBe(false)
    const observer = await connectH2(origin, certificate.ca)
    expect(await connectionsGauge(observer)).toBe(cap)

    subscriptions[0]?.stream.close()
    expect((await waiting.response)[":status"]).toBe(200)
    expect((await h2Publish(observer, "/.well-known/mercure", TOPIC, "to all")).status).toBe(200)
    await waitUntil(
      () => [...subscriptions.slice(1), waiting].every((subscription) => subscription.events.length === 1),
      () => undefined,
    )
    session.destroy()
    observer.close()
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })

  it("counts each subscribing stream against --max-connections-per-address, and frees them all when the connection dies", async () => {
    const { hub, certificate, origin } = await startTlsHub(["--max-connections-per-address", "3"])
    const observer = await connectH2(origin, certificate.ca)
    const session = await connectH2(origin, certificate.ca)
    const admitted = [1, 2, 3].map(() => h2Subscribe(session, SUBSCRIBE))
    for (const subscription of admitted) expect((await subscription.response)[":status"]).toBe(200)
    const refused = h2Subscribe(session, SUBSCRIBE)
    expect((await refused.response)[":status"]).toBe(429)
    expect(await connectionsGauge(observer)).toBe(3)

    session.destroy()
    await untilConnections(observer, 0)
    const again = await connectH2(origin, certificate.ca)
    const readmitted = [1, 2, 3].map(() => h2Subscribe(again, SUBSCRIBE))
    for (const subscription of readmitted) expect((await subscription.response)[":status"]).toBe(200)
    again.destroy()
    observer.close()
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })

  // RFC 9113, 8.1: a server that answered before the request ended "MAY request that the client
  // abort transmission of a request without error by sending a RST_STREAM with an error code of
  // NO_ERROR". Node's compatibility layer does it when the answer ends; this holds it to that.
  it("answering before an upload ended closes the stream (RST_STREAM NO_ERROR) instead of waiting for the rest", async () => {
    const { hub, certificate, origin } = await startTlsHub()
    const session = await connectH2(origin, certificate.ca)
    // A publish whose body never ends, refused at once (415: not a form).
    const stream = session.request({
      ":method": "POST",
      ":path": "/.well-known/mercure",
      "content-type": "text/plain",
    })
    stream.on("error", () => undefined)
    stream.write("x".repeat(1000))
    const [head] = (await once(stream, "response")) as [Record<string, unknown>]
    expect(head[":status"]).toBe(415)
    stream.resume()
    const closed = new Promise<number>((resolve) => stream.once("close", () => resolve(stream.rstCode ?? -1)))
    const kept = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error("the hub kept the unfinished upload's stream open")), 5000).unref(),
    )
    expect(await Promise.race([closed, kept])).toBe(constants.NGHTTP2_NO_ERROR)
    session.close()
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })

  it("destroys a connection that resets streams faster than --max-stream-resets-per-second; the process lives", async () => {
    const { hub, certificate, origin } = await startTlsHub()
    const session = await connectH2(origin, certificate.ca)
    // 400 resets: well under nghttp2's own budget (a burst of 1000), well over Herald's default
    // of 200 a second. In rounds of the server's 100 concurrent streams: the client holds back
    // streams past that, and drops unsent ones it is told to reset.
    for (let round = 0; round < 4 && !session.destroyed; round++) {
      for (let index = 0; index < 100; index++) {
        const stream = session.request({ ":path": SUBSCRIBE })
        stream.on("error", () => undefined)
        stream.close(constants.NGHTTP2_CANCEL)
      }
      await new Promise((resolve) => setImmediate(resolve))
    }
    // The hub drops the connection on its next turn (not from inside nghttp2's frame callbacks),
    // so a frame already in flight may still be answered; the connection must end all the same.
    if (!session.closed) {
      const cut = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("the hub kept the connection open")), 5000).unref(),
      )
      // Not events.once: it would reject on the "error" (ENHANCE_YOUR_CALM) that comes with the close.
      const closed = new Promise<void>((resolve) => session.once("close", () => resolve()))
      await Promise.race([closed, cut])
    }
    await hub.waitFor(/more than 200 streams reset within a second/)

    const fresh = await connectH2(origin, certificate.ca)
    expect((await h2Request(fresh, { ":path": "/healthz" })).status).toBe(200)
    await untilConnections(fresh, 0)
    fresh.close()
    expect(hub.child.exitCode).toBeNull()
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })

  it("on SIGTERM sends GOAWAY, gives HTTP/2 subscribers a retry hint and ends their streams, then exits 0", async () => {
    const { hub, certificate, origin } = await startTlsHub(["--retry", "2s", "--shutdown-retry-jitter", "1s"])
    const session = await connectH2(origin, certificate.ca)
    const goaway = once(session, "goaway")
    const subscriptions = [1, 2].map(() => h2Subscribe(session, SUBSCRIBE))
    for (const subscription of subscriptions) expect((await subscription.response)[":status"]).toBe(200)
    const ended = subscriptions.map((subscription) => once(subscription.stream, "end"))
    hub.child.kill("SIGTERM")
    const [code] = (await goaway) as [number]
    expect(code).toBe(constants.NGHTTP2_NO_ERROR)
    // GOAWAY first, so that no new request lands here while the subscribers are told to go.
    expect(subscriptions.map((subscription) => subscription.stream.readableEnded)).toEqual([false, false])
    await Promise.all(ended)
    for (const subscription of subscriptions) {
      // The first hint is the one every stream opens with; the shutdown's is jittered past it.
      const hint = subscription.retries.at(-1) ?? 0
      expect(subscription.retries.length).toBe(2)
      expect(hint).toBeGreaterThanOrEqual(2000)
      expect(hint).toBeLessThanOrEqual(3000)
    }
    expect(await hub.exited).toBe(0)
  })

  it("on SIGTERM drops a connection still in its TLS handshake rather than waiting for it, and exits 0", async () => {
    const { hub, origin } = await startTlsHub(["--shutdown-timeout", "1s"])
    // A ClientHello's first bytes, the rest never sent: neither HTTP/1.1 nor an HTTP/2 session yet.
    const stalled = connect({ host: "127.0.0.1", port: Number(new URL(origin).port) })
    await once(stalled, "connect")
    stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x01, 0x00, 0x01]))
    const dropped = once(stalled, "close")
    // Give the hub the bytes before the signal.
    await new Promise((resolve) => setTimeout(resolve, 200))
    hub.child.kill("SIGTERM")
    // Waiting for the handshake's own timeout (10 s) would overrun the shutdown deadline (1 s, exit 1).
    expect(await hub.exited, hub.stdout().slice(-2000)).toBe(0)
    await dropped
  })
})
