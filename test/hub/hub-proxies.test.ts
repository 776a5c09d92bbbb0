import { afterEach, describe, expect, it } from "vitest"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createHub } from "../../src/hub/hub.js"
import { openStream, type StreamReader } from "../server/helpers.js"
import { startHub, subscribeUrl, type TestHub } from "./hub-helpers.js"

let hub: TestHub | undefined
const streams: StreamReader[] = []
afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close()
  await hub?.close()
  hub = undefined
})

/** A subscriber whose request reaches the hub through a proxy on 127.0.0.1 that set X-Forwarded-For. */
async function subscribeVia(forwardedFor: string): Promise<StreamReader> {
  const stream = await openStream(subscribeUrl((hub as TestHub).hubUrl, [["match", "t"]]), {
    "x-forwarded-for": forwardedFor,
  })
  streams.push(stream)
  return stream
}

describe("the per-address connection limit behind a proxy", () => {
  it("counts each client the trusted proxy forwarded, not the proxy", async () => {
    hub = await startHub({
      allowAnonymousSubscribe: true,
      trustedProxies: ["127.0.0.1"],
      limits: { maxConnectionsPerAddress: 1 },
    })
    expect((await subscribeVia("198.51.100.1")).status).toBe(200)
    expect((await subscribeVia("203.0.113.9, 198.51.100.2")).status).toBe(200)
    expect(hub.hub.connections).toBe(2)
    const again = await fetch(subscribeUrl(hub.hubUrl, [["match", "t"]]), {
      headers: { "x-forwarded-for": "198.51.100.1" },
    })
    expect(again.status).toBe(429)
    expect((await again.json()).detail).toContain("from 198.51.100.1 ")
  })

  it("counts an IPv6 client by its /64, or by the prefix length it is given", async () => {
    hub = await startHub({
      allowAnonymousSubscribe: true,
      trustedProxies: ["127.0.0.1"],
      limits: { maxConnectionsPerAddress: 1 },
    })
    expect((await subscribeVia("2001:db8:1:2::1")).status).toBe(200)
    // Another address of the same /64, spelled long: the same client.
    const sameNetwork = await fetch(subscribeUrl(hub.hubUrl, [["match", "t"]]), {
      headers: { "x-forwarded-for": "2001:0db8:0001:0002:ffff:0:0:7" },
    })
    expect(sameNetwork.status).toBe(429)
    expect((await sameNetwork.json()).detail).toContain("from 2001:db8:1:2::/64 ")
    expect((await subscribeVia("2001:db8:1:3::1")).status).toBe(200)
    await hub.close()

    hub = await startHub({
      allowAnonymousSubscribe: true,
      trustedProxies: ["127.0.0.1"],
      limits: { maxConnectionsPerAddress: 1, ipv6PrefixLength: 128 },
    })
    expect((await subscribeVia("2001:db8:1:2::1")).status).toBe(200)
    expect((await subscribeVia("2001:db8:1:2::2")).status).toBe(200)
    expect(hub.hub.connections).toBe(2)
  })

  it("refuses an IPv6 prefix length past 128 bits", () => {
    expect(() => createHub({ engine: createMemoryEngine(), limits: { ipv6PrefixLength: 129 } })).toThrow(
      /ipv6PrefixLength is a number of bits, 1 to 128/,
    )
  })

  it("without trusted proxies, counts the proxy's address whatever the header says", async () => {
    hub = await startHub({ allowAnonymousSubscribe: true, limits: { maxConnectionsPerAddress: 1 } })
    expect((await subscribeVia("198.51.100.1")).status).toBe(200)
    const second = await fetch(subscribeUrl(hub.hubUrl, [["match", "t"]]), {
      headers: { "x-forwarded-for": "198.51.100.2" },
    })
    expect(second.status).toBe(429)
    expect((await second.json()).detail).toContain("from 127.0.0.1 ")
  })

  it("refuses a trusted proxy entry that is no address or range", () => {
    expect(() => createHub({ engine: createMemoryEngine(), trustedProxies: ["proxy.internal"] })).toThrow(
      /not an IP address or a CIDR range/,
    )
  })
})
