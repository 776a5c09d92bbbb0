// `herald serve` as a process, against what used to end it or expose it: a non-Latin-1 event id
// echoed into response headers, and /metrics reachable by anyone.

import { connect } from "node:net"
import { describe, expect, it } from "vitest"
import { SECRET } from "../hub/hub-helpers.js"
import { rawRequest } from "../server/helpers.js"
import { bannerTokens, startHub, tempCwd, useCliProcesses } from "./cli-helpers.js"

useCliProcesses()

const utf8 = (text: string) => Buffer.from(text, "utf8")

describe("herald serve, hardened", () => {
  it("resumes a subscriber from id=中1 and é: the headers carry UTF-8 bytes and the process lives on", async () => {
    const hub = await startHub(["--engine", "memory", "--port", "0"], { cwd: tempCwd() })
    await hub.waitFor(/Subscriber token/)
    const { publisher, subscriber } = bannerTokens(hub.stdout())
    const topic = "https://example.com/t"
    for (const id of ["中1", "é", "next"]) {
      const published = await fetch(hub.hubUrl, {
        method: "POST",
        headers: { authorization: `Bearer ${publisher}` },
        body: new URLSearchParams({ topic, id, data: `after ${id}` }),
      })
      expect(published.status).toBe(200)
    }
    const { origin, pathname } = new URL(hub.hubUrl)
    for (const id of ["中1", "é"]) {
      const head = Buffer.concat([
        Buffer.from(
          `GET ${pathname}?match=${encodeURIComponent(topic)} HTTP/1.1\r\nHost: localhost\r\n` +
            `Authorization: Bearer ${subscriber}\r\nAccept: text/event-stream\r\nLast-Event-ID: `,
        ),
        utf8(id),
        Buffer.from("\r\n\r\n"),
      ])
      const response = await rawRequest(origin, head)
      expect(response.status).toBe(200)
      expect(response.headers.get("mercure-last-event-id")).toEqual(utf8(id))
      expect(response.headers.get("last-event-id")).toEqual(utf8(id))
      response.socket.destroy()
    }
    expect((await fetch(`${origin}/healthz`)).status).toBe(200)
    expect(hub.child.exitCode).toBeNull()
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
    expect(hub.stdout()).not.toMatch(/unhandledRejection|uncaughtException/)
  })

  it("answers a handful of pipelined HTTP/1.1 requests, and closes a connection that pipelines past --max-pipelined-requests", async () => {
    const hub = await startHub(["--engine", "memory", "--port", "0", "--max-pipelined-requests", "8"], {
      cwd: tempCwd(),
    })
    const { port } = new URL(hub.hubUrl)
    const pipelined = (count: number) =>
      new Promise<{ answers: number; closed: boolean }>((resolve) => {
        const socket = connect(Number(port), "127.0.0.1")
        let text = ""
        const done = (closed: boolean) => {
          socket.destroy()
          resolve({ answers: text.match(/HTTP\/1\.1 200 /g)?.length ?? 0, closed })
        }
        socket.on("data", (chunk: Buffer) => {
          text += chunk.toString("latin1")
          if ((text.match(/HTTP\/1\.1 200 /g)?.length ?? 0) === count) done(false)
        })
        socket.on("close", () => done(true))
        socket.on("error", () => {})
        socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(count))
      })
    expect(await pipelined(8)).toEqual({ answers: 8, closed: false })
    const past = await pipelined(200)
    expect(past.closed).toBe(true)
    expect(past.answers).toBeLessThanOrEqual(8)
    expect((await fetch(`${new URL(hub.hubUrl).origin}/healthz`)).status).toBe(200)
  })

  it("keeps /metrics to loopback clients outside dev mode, and answers 404 naming what is served", async () => {
    const hub = await startHub(["--engine", "memory", "--port", "0", "--no-dev", "--jwt-key", SECRET], {
      cwd: tempCwd(),
    })
    const { origin } = new URL(hub.hubUrl)
    expect((await fetch(`${origin}/metrics`)).status).toBe(200)
    const relayed = await fetch(`${origin}/metrics`, { headers: { "x-forwarded-for": "203.0.113.7" } })
    expect(relayed.status).toBe(403)
    const missing = await fetch(`${origin}/nope`)
    expect(missing.status).toBe(404)
    expect((await missing.json()).detail).toContain("the Mercure hub at /.well-known/mercure")
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })

  it("keeps /metrics to loopback clients in dev mode too, where --host 0.0.0.0 lets the network reach the hub", async () => {
    const hub = await startHub(["--engine", "memory", "--port", "0", "--host", "0.0.0.0"], { cwd: tempCwd() })
    const metrics = `http://127.0.0.1:${hub.port}/metrics`
    expect((await fetch(metrics)).status).toBe(200)
    // What a proxy relays may come from any machine: the loopback rule refuses it, as outside dev mode.
    const relayed = await fetch(metrics, { headers: { "x-forwarded-for": "203.0.113.7" } })
    expect(relayed.status).toBe(403)
    expect((await relayed.json()).detail).toContain("--metrics-token")
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })

  it("serves /metrics on --metrics-port behind --metrics-token, and not on the main port", async () => {
    const hub = await startHub(
      ["--engine", "memory", "--port", "0", "--metrics-port", "0", "--metrics-token", "scrape-0123456789"],
      { cwd: tempCwd() },
    )
    const [, port] = await hub.waitFor(/"metricsPort":(\d+)/)
    const metricsUrl = `http://127.0.0.1:${port}/metrics`
    const onMain = await fetch(new URL("/metrics", hub.hubUrl))
    expect(onMain.status).toBe(404)
    // Says where they are, for a scraper left pointing at the main port.
    expect((await onMain.json()).detail).toBe(
      "/metrics is served on the metrics port (--metrics-port), not on this port.",
    )
    expect((await fetch(metricsUrl)).status).toBe(401)
    const scraped = await fetch(metricsUrl, { headers: { authorization: "Bearer scrape-0123456789" } })
    expect(scraped.status).toBe(200)
    expect(await scraped.text()).toContain("herald_connections")
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
    hub.child.kill("SIGTERM")
    expect(await hub.exited).toBe(0)
  })
})
