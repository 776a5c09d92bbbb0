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
