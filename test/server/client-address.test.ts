import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  type ClientAddressRequest,
  canonicalAddress,
  createClientAddressResolver,
  isProxyRange,
} from "../../src/server/index.js"

const request = (
  peer: string | undefined,
  headers: ClientAddressRequest["headers"] = {},
): ClientAddressRequest => ({ socket: { remoteAddress: peer }, headers })

describe("client address: without trusted proxies", () => {
  it("is the peer address, whatever the request claims", () => {
    const resolve = createClientAddressResolver()
    expect(resolve(request("203.0.113.9", { "x-forwarded-for": "198.51.100.1" }))).toBe("203.0.113.9")
    expect(resolve(request("203.0.113.9", { forwarded: "for=198.51.100.1" }))).toBe("203.0.113.9")
  })

  it("spells an IPv4-mapped peer as IPv4, IPv6 compressed and lowercased, and says unknown without a socket address", () => {
    const resolve = createClientAddressResolver()
    expect(resolve(request("::ffff:127.0.0.1"))).toBe("127.0.0.1")
    expect(resolve(request("2001:DB8:0:0::1"))).toBe("2001:db8::1")
    expect(resolve(request(undefined))).toBe("unknown")
  })
})

describe("client address: X-Forwarded-For from a trusted proxy", () => {
  const resolve = createClientAddressResolver({ trustedProxies: ["10.0.0.0/8", "::1", "2001:db8::/32"] })

  it("takes the first untrusted address from the right, skipping trusted hops", () => {
    expect(resolve(request("10.0.0.2", { "x-forwarded-for": "198.51.100.7" }))).toBe("198.51.100.7")
    expect(resolve(request("10.0.0.2", { "x-forwarded-for": "198.51.100.7, 10.9.9.9, 10.1.1.1" }))).toBe(
      "198.51.100.7",
    )
    expect(resolve(request("::1", { "x-forwarded-for": "2001:db8::5, 2a00:1450::1, 2001:db8::6" }))).toBe(
      "2a00:1450::1",
    )
  })

  it("ignores what the client wrote left of the address the proxy appended (spoofing)", () => {
    // The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the address it saw.
    expect(resolve(request("10.0.0.2", { "x-forwarded-for": "1.2.3.4, 198.51.100.7" }))).toBe("198.51.100.7")
  })

  it("reads every header line, in order", () => {
    expect(resolve(request("10.0.0.2", { "x-forwarded-for": ["1.2.3.4", "198.51.100.7, 10.0.0.3"] }))).toBe(
      "198.51.100.7",
    )
  })

  it("accepts ports, brackets and IPv4-mapped spellings", () => {
    expect(resolve(request("10.0.0.2", { "x-forwarded-for": "198.51.100.7:4711" }))).toBe("198.51.100.7")
    expect(resolve(request("10.0.0.2", { "x-forwarded-for": "[2a00:1450::1]:443" }))).toBe("2a00:1450::1")
    expect(resolve(request("::ffff:10.0.0.2", { "x-forwarded-for": "::ffff:198.51.100.7" }))).toBe(
      "198.51.100.7",
    )
  })

  it("stops at the nearest proxy when a hop is no address", () => {
    expect(resolve(request("10.0.0.2", { "x-forwarded-for": "198.51.100.7, garbage" }))).toBe("10.0.0.2")
    expect(resolve(request("10.0.0.2", { "x-forwarded-for": "198.51.100.7, unknown, 10.0.0.3" }))).toBe(
      "10.0.0.3",
    )
    expect(resolve(request("10.0.0.2", { "x-forwarded-for": "" }))).toBe("10.0.0.2")
  })

  it("is the innermost hop when every hop is trusted", () => {
    expect(resolve(request("10.0.0.2", { "x-forwarded-for": "10.0.0.4, 10.0.0.3" }))).toBe("10.0.0.4")
  })

  it("does not read Forwarded when the proxies set X-Forwarded-For: a client could forge it", () => {
    expect(resolve(request("10.0.0.2", { forwarded: "for=1.2.3.4" }))).toBe("10.0.0.2")
  })

  it("never throws and always answers an address or the peer, whatever the header holds", () => {
    fc.assert(
      fc.property(fc.array(headerText, { maxLength: 3 }), (lines) => {
        const address = resolve(request("10.0.0.2", { "x-forwarded-for": lines }))
        expect(address === "10.0.0.2" || isIPAddress(address)).toBe(true)
      }),
      { numRuns: 300 },
    )
  })
})

describe("client address: Forwarded (RFC 7239) from a trusted proxy", () => {
  const resolve = createClientAddressResolver({
    trustedProxies: ["127.0.0.1", "10.0.0.0/8"],
    header: "forwarded",
  })

  it("reads for= of each element, from the right", () => {
    expect(resolve(request("127.0.0.1", { forwarded: "for=192.0.2.60;proto=http;by=203.0.113.43" }))).toBe(
      "192.0.2.60",
    )
    expect(resolve(request("127.0.0.1", { forwarded: "for=192.0.2.43, for=198.51.100.17" }))).toBe(
      "198.51.100.17",
    )
    expect(resolve(request("127.0.0.1", { forwarded: "For=192.0.2.43, FOR=10.1.2.3" }))).toBe("192.0.2.43")
  })

  it("reads quoted and bracketed IPv6 with a port, and quoted IPv4 with a port", () => {
    expect(resolve(request("127.0.0.1", { forwarded: 'for="[2001:db8:cafe::17]:4711"' }))).toBe(
      "2001:db8:cafe::17",
    )
    expect(resolve(request("127.0.0.1", { forwarded: 'for="192.0.2.43:47011";proto=https' }))).toBe(
      "192.0.2.43",
    )
  })

  it("does not split inside a quoted string", () => {
    expect(
      resolve(request("127.0.0.1", { forwarded: 'for=192.0.2.43;host="a,b;c=d", for=198.51.100.17' })),
    ).toBe("198.51.100.17")
    expect(resolve(request("127.0.0.1", { forwarded: 'for=192.0.2.43;by="x\\",y"' }))).toBe("192.0.2.43")
  })

  it("stops at the nearest proxy on unknown, obfuscated or missing for=", () => {
    expect(resolve(request("127.0.0.1", { forwarded: "for=unknown" }))).toBe("127.0.0.1")
    expect(resolve(request("127.0.0.1", { forwarded: "for=_hidden, for=10.0.0.7" }))).toBe("10.0.0.7")
    expect(resolve(request("127.0.0.1", { forwarded: "proto=https" }))).toBe("127.0.0.1")
    expect(resolve(request("127.0.0.1", { forwarded: 'for="[2001:db8::1' }))).toBe("127.0.0.1")
    expect(resolve(request("127.0.0.1", { forwarded: "for=" }))).toBe("127.0.0.1")
  })

  it("reads every header line, and ignores X-Forwarded-For", () => {
    expect(
      resolve(
        request("127.0.0.1", {
          forwarded: ["for=1.2.3.4", "for=198.51.100.17"],
          "x-forwarded-for": "5.6.7.8",
        }),
      ),
    ).toBe("198.51.100.17")
  })

  it("ignores the header from an untrusted peer", () => {
    expect(resolve(request("198.51.100.1", { forwarded: "for=1.2.3.4" }))).toBe("198.51.100.1")
  })

  it("never throws, whatever the header holds", () => {
    fc.assert(
      fc.property(headerText, (value) => {
        const address = resolve(request("127.0.0.1", { forwarded: value }))
        expect(address === "127.0.0.1" || isIPAddress(address)).toBe(true)
      }),
      { numRuns: 300 },
    )
  })
})

describe("trusted proxy ranges", () => {
  it("match IPv4 and IPv6 CIDRs, single addresses, and IPv4-mapped peers", () => {
    const resolve = createClientAddressResolver({
      trustedProxies: ["192.168.0.0/16", "fd00::/8", "::ffff:172.16.0.0/108", "::ffff:10.0.0.1"],
    })
    const behind = (peer: string) => resolve(request(peer, { "x-forwarded-for": "198.51.100.7" }))
    expect(behind("192.168.200.1")).toBe("198.51.100.7")
    expect(behind("::ffff:192.168.200.1")).toBe("198.51.100.7")
    expect(behind("fd12:3456::1")).toBe("198.51.100.7")
    expect(behind("172.31.255.255")).toBe("198.51.100.7")
    expect(behind("10.0.0.1")).toBe("198.51.100.7")
    expect(behind("192.169.0.1")).toBe("192.169.0.1")
    expect(behind("fe00::1")).toBe("fe00::1")
    expect(behind("172.32.0.0")).toBe("172.32.0.0")
    expect(behind("10.0.0.2")).toBe("10.0.0.2")
  })

  it("refuses entries that are no address or range, saying what is expected", () => {
    for (const bad of [
      "localhost",
      "10.0.0.0/33",
      "::/129",
      "10.0.0.0/",
      "10.0.0.0/x",
      "::ffff:10.0.0.0/95",
      "",
    ]) {
      expect(isProxyRange(bad), bad).toBe(false)
      expect(() => createClientAddressResolver({ trustedProxies: [bad] }), bad).toThrow(/CIDR range/)
    }
    expect(isProxyRange("10.0.0.0/8")).toBe(true)
    expect(isProxyRange("::1")).toBe(true)
  })

  it("canonical spellings", () => {
    expect(canonicalAddress("::FFFF:7f00:1")).toBe("127.0.0.1")
    expect(canonicalAddress("2001:0db8:0000::0001")).toBe("2001:db8::1")
    expect(canonicalAddress("198.51.100.7")).toBe("198.51.100.7")
  })
})

/** Header values made of the pieces that matter to the parsers, and of anything else. */
const headerText = fc.oneof(
  fc
    .array(
      fc.constantFrom(
        "for=",
        "For=",
        '"',
        "[",
        "]",
        ":",
        ",",
        ";",
        "=",
        " ",
        "\\",
        "_x",
        "unknown",
        "1.2.3.4",
        "10.0.0.3",
        "::1",
        "ffff",
        "%",
        ":80",
      ),
      { maxLength: 20 },
    )
    .map((pieces) => pieces.join("")),
  fc.string({ maxLength: 60 }),
)

function isIPAddress(text: string): boolean {
  return /^[\d.]+$|:/.test(text) && !/[\s,;"]/.test(text)
}
