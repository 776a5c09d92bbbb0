import { describe, expect, it } from "vitest"
import { createAdmission } from "../../src/server/admission.js"
import { clientNetwork } from "../../src/server/client-network.js"

describe("clientNetwork", () => {
  it("keeps an IPv4 address, an address with a zone and an unknown one as they are", () => {
    expect(clientNetwork("198.51.100.7")).toBe("198.51.100.7")
    expect(clientNetwork("fe80::1%eth0")).toBe("fe80::1%eth0")
    expect(clientNetwork("unknown")).toBe("unknown")
  })

  it("names an IPv6 address by its /64 by default", () => {
    expect(clientNetwork("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:1:2::/64")
    expect(clientNetwork("2001:db8::1")).toBe("2001:db8::/64")
    expect(clientNetwork("::1")).toBe("::/64")
  })

  it("counts an IPv4 client seen through IPv6 (mapped, or NAT64's 64:ff9b::/96) as its own address", () => {
    expect(clientNetwork("::ffff:1.2.3.4")).toBe("1.2.3.4")
    expect(clientNetwork("::ffff:0506:0708")).toBe("5.6.7.8")
    expect(clientNetwork("64:ff9b::1.2.3.4")).toBe("64:ff9b::102:304")
    expect(clientNetwork("64:ff9b::5.6.7.8")).toBe("64:ff9b::506:708")
    // A spelling that is not canonical still names its /64.
    expect(clientNetwork("2001:DB8:0:0:1::1")).toBe("2001:db8::/64")
  })

  it("cuts inside a group, and keeps every group at 128", () => {
    expect(clientNetwork("2001:db8:abcd:ffff::1", 56)).toBe("2001:db8:abcd:ff00::/56")
    expect(clientNetwork("2001:db8:abcd:12ff::1", 52)).toBe("2001:db8:abcd:1000::/52")
    expect(clientNetwork("2001:db8::1", 128)).toBe("2001:db8::1")
    expect(clientNetwork("2001:db8:1:2:3:4:5:ff", 120)).toBe("2001:db8:1:2:3:4:5:0/120")
    expect(clientNetwork("8000::1", 1)).toBe("8000::/1")
  })
})

describe("createAdmission per IPv6 network", () => {
  it("counts addresses of one /64 together and gives each slot back to its network", () => {
    const admission = createAdmission(10, 2)
    expect(admission.admit("2001:db8:1:2::1")).toBeUndefined()
    expect(admission.admit("2001:db8:1:2::2")).toBeUndefined()
    expect(admission.admit("2001:db8:1:2::3")?.limit).toBe("maxConnectionsPerAddress")
    expect(admission.admit("2001:db8:1:3::1")).toBeUndefined()
    admission.release("2001:db8:1:2::1")
    expect(admission.admit("2001:db8:1:2::4")).toBeUndefined()
    expect(admission.open).toBe(3)
  })

  it("refuses a prefix length that is not 1 to 128 bits", () => {
    for (const bits of [0, 129, 64.5, Number.NaN]) {
      expect(() => createAdmission(10, 2, bits)).toThrow(/ipv6PrefixLength must be an integer from 1 to 128/)
    }
  })
})
