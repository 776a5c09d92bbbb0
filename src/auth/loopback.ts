import { BlockList, isIP } from "node:net"

/** 127.0.0.0/8 and ::1; `BlockList` also matches their IPv4-mapped IPv6 forms (`::ffff:127.0.0.1`). */
const LOOPBACK = new BlockList()
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4")
LOOPBACK.addAddress("::1", "ipv6")

/**
 * Whether `host` — an IP address, a URL's `hostname` (IPv6 in brackets) or a host name — names
 * this machine's loopback interface: `localhost`, 127.0.0.0/8 or ::1. Other names are not
 * resolved: what a name resolves to is not the hub's to trust.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host
  const family = isIP(bare)
  if (family === 0) return /^localhost\.?$/i.test(bare)
  return LOOPBACK.check(bare, family === 4 ? "ipv4" : "ipv6")
}
