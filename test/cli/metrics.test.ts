import { Counter, Registry } from "prom-client"
import { afterEach, describe, expect, it } from "vitest"
import { type MetricsAccess, metricsMount } from "../../src/cli/metrics.js"
import { createRouter } from "../../src/cli/router.js"
import { listen, rawRequest, recordingLogger, stop } from "../server/helpers.js"

const servers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of servers.splice(0)) await close()
})

/**
 * /metrics on a loopback server. `clientAddress` stands in for the peer's address, so that a
 * remote client can be played without leaving loopback.
 */
async function metricsServer(access: MetricsAccess, clientAddress?: string) {
  const registry = new Registry()
  new Counter({ name: "herald_test_total", help: "a test counter", registers: [registry] }).inc()
  const router = createRouter([metricsMount(registry, access)], recordingLogger())
  const { server, url } = await listen((request, response) => {
    if (clientAddress !== undefined)
      Object.defineProperty(request.socket, "remoteAddress", { value: clientAddress, configurable: true })
    void router(request, response)
  })
  servers.push(() => stop(server))
  return `${url}/metrics`
}

describe("/metrics access", () => {
  it("is open to everyone when asked (dev mode, a port of its own)", async () => {
    const url = await metricsServer({ token: undefined, loopbackOnly: false }, "203.0.113.7")
    const response = await fetch(url)
    expect(response.status).toBe(200)
    expect(await response.text()).toContain("herald_test_total 1")
  })

  it("names the exposition format's version, as prom-client gives it, for scrapers that check", async () => {
    const response = await fetch(await metricsServer({ token: undefined, loopbackOnly: false }))
    expect(response.headers.get("content-type")).toBe(new Registry().contentType)
    expect(response.headers.get("content-type")).toContain("version=0.0.4")
  })

  it("by default answers loopback clients only, and not what a proxy relays", async () => {
    const access = { token: undefined, loopbackOnly: true }
    expect((await fetch(await metricsServer(access))).status).toBe(200)
    expect((await fetch(await metricsServer(access, "::ffff:127.0.0.1"))).status).toBe(200)
    const remote = await fetch(await metricsServer(access, "203.0.113.7"))
    expect(remote.status).toBe(403)
    expect((await remote.json()).detail).toContain("--metrics-token")
    const relayed = await fetch(await metricsServer(access), {
      headers: { "x-forwarded-for": "203.0.113.7" },
    })
    expect(relayed.status).toBe(403)
    const forwarded = await fetch(await metricsServer(access), { headers: { forwarded: "for=203.0.113.7" } })
    expect(forwarded.status).toBe(403)

    // A monitoring check in HTTP/1.0 on this machine is a local client here (dev mode's stricter rule aside).
    const check = await rawRequest(
      new URL(await metricsServer(access)).origin,
      Buffer.from("GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"),
    )
    check.socket.destroy()
    expect(check.status).toBe(200)
  })

  it("with a token, requires it from everyone, loopback included", async () => {
    const access = { token: "scrape-secret-0123456789", loopbackOnly: true }
    const local = await metricsServer(access)
    const none = await fetch(local)
    expect(none.status).toBe(401)
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="metrics"')
    const wrong = await fetch(local, { headers: { authorization: "Bearer nope" } })
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get("www-authenticate")).toContain('error="invalid_token"')
    const remote = await metricsServer(access, "203.0.113.7")
    const right = await fetch(remote, { headers: { authorization: "Bearer scrape-secret-0123456789" } })
    expect(right.status).toBe(200)
    expect(await right.text()).toContain("herald_test_total")
  })
})
