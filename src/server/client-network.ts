import { isIP } from "node:net"
import { canonicalAddress } from "./client-address.js"

/**
 * How many leading bits of an IPv6 address name one client, by default. An ISP hands a home or
 * a cloud VM a /64 (RFC 6177; many clouds a /64 to one instance): counted address by address,
 * one such client could open its 2^64 addresses' worth of connections.
 */
export const DEFAULT_IPV6_PREFIX_LENGTH = 64

/**
 * The network a per-address bound counts `address` in: an IPv4 address is itself; an IPv6
 * address is its first `ipv6PrefixLength` bits (`2001:db8:1:2::/64`), or itself at 128. An
 * address with a zone (`fe80::1%eth0`, link-local) or one that is no IP (`"unknown"`) is itself.
 * An IPv4 client seen through IPv6 is the IPv4 address: mapped (`::ffff:192.0.2.1`, as a
 * dual-stack socket reports it) or translated by NAT64's well-known prefix (`64:ff9b::/96`,
 * RFC 6052), where a /64 would hold every IPv4 client at once.
 */
export function clientNetwork(clientAddress: string, ipv6PrefixLength = DEFAULT_IPV6_PREFIX_LENGTH): string {
  const address = canonicalAddress(clientAddress)
  if (ipv6PrefixLength >= 128 || isIP(address) !== 6 || address.includes("%")) return address
  if (NAT64.test(address)) return address
  let bits = ipv6PrefixLength
  const network = expandIpv6(address).map((group) => {
    const mask = bits >= 16 ? 0xffff : bits <= 0 ? 0 : (0xffff << (16 - bits)) & 0xffff
    bits -= 16
    return (group & mask).toString(16)
  })
  // The URL parser writes an IPv6 host in RFC 5952's one spelling.
  return `${new URL(`http://[${network.join(":")}]/`).hostname.slice(1, -1)}/${ipv6PrefixLength}`
}

/** An address under NAT64's well-known prefix, 64:ff9b::/96, as the URL parser spells it. */
const NAT64 = /^64:ff9b::[0-9a-f]{1,4}(:[0-9a-f]{1,4})?$/

/** The eight 16-bit groups of an IPv6 address written in hex groups, with at most one `::`. */
function expandIpv6(address: string): number[] {
  const [head = "", tail] = address.split("::")
  const left = head === "" ? [] : head.split(":")
  const right = tail === undefined || tail === "" ? [] : tail.split(":")
  const middle = new Array<string>(8 - left.length - right.length).fill("0")
  return [...left, ...middle, ...right].map((group) => Number.parseInt(group, 16))
}
