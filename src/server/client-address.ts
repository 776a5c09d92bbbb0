import { BlockList, isIP } from "node:net"

/** The header a trusted proxy names the client in. */
export type ForwardedHeader = "x-forwarded-for" | "forwarded"

/** Options for {@link createClientAddressResolver}. */
export interface ClientAddressOptions {
  /**
   * Addresses and CIDR ranges of the proxies in front of the server (`10.0.0.0/8`, `::1`,
   * `2001:db8::/32`). Only a request whose TCP peer is one of them is read for a forwarded
   * address. Default none: the peer address is the client's.
   */
  readonly trustedProxies?: readonly string[]
  /**
   * Which header the proxies set. Only that one is read: a proxy passes a header it does not
   * manage through untouched, so reading both would let a client forge the other. Default
   * `"x-forwarded-for"` (nginx, HAProxy, AWS ALB, Cloudflare, Envoy, Caddy, Traefik).
   */
  readonly header?: ForwardedHeader
}

/** What a resolver reads off a request: `node:http`'s `IncomingMessage` and HTTP/2 compat requests fit. */
export interface ClientAddressRequest {
  readonly socket: { readonly remoteAddress?: string | undefined }
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
}

/**
 * The address of the client behind a request: the TCP peer's, or — when the peer is a trusted
 * proxy — the one the proxies forwarded. Always an IP address in canonical form (IPv4-mapped
 * IPv6 as IPv4), or `"unknown"` when the socket has none (it was already closed).
 */
export type ClientAddressResolver = (request: ClientAddressRequest) => string

/**
 * Creates a resolver from the trusted proxies (create it once; it is reused for every request).
 *
 * The forwarded header lists the hops, the client first and each proxy appending the address it
 * received from. Only the entries written by trusted proxies can be believed, so the walk starts
 * at the right: trusted hops are skipped, and the first untrusted address is the client. Anything
 * left of it may be forged by the client and is ignored. A hop that names no address (`unknown`,
 * an obfuscated `_identifier`, garbage) ends the walk at the last address known, the nearest
 * proxy: the client cannot be told apart, and a forged or broken header never throws.
 *
 * @throws {RangeError} for an entry of `trustedProxies` that is not an address or a CIDR range.
 */
export function createClientAddressResolver(options: ClientAddressOptions = {}): ClientAddressResolver {
  const proxies = options.trustedProxies ?? []
  const header = options.header ?? "x-forwarded-for"
  if (header !== "x-forwarded-for" && header !== "forwarded") {
    throw new RangeError(`header must be "x-forwarded-for" or "forwarded"; got ${JSON.stringify(header)}.`)
  }
  const peerOf = (request: ClientAddressRequest): string => {
    const remote = request.socket.remoteAddress
    return remote === undefined ? "unknown" : canonicalAddress(remote)
  }
  if (proxies.length === 0) return peerOf
  const trusted = new BlockList()
  for (const entry of proxies) addProxyRange(trusted, entry)
  const isTrusted = (address: string): boolean => {
    const family = isIP(address)
    return family !== 0 && trusted.check(address, family === 4 ? "ipv4" : "ipv6")
  }
  const hopsOf = header === "forwarded" ? forwardedHops : xForwardedForHops
  return (request) => {
    const peer = peerOf(request)
    if (!isTrusted(peer)) return peer
    const value = request.headers[header]
    if (value === undefined) return peer
    // Several header lines form one list, in order (RFC 9110 §5.3).
    const hops = hopsOf(typeof value === "string" ? value : value.join(","))
    let client = peer
    for (let index = hops.length - 1; index >= 0; index--) {
      const hop = hops[index]
      if (hop === undefined) return client
      client = hop
      if (!isTrusted(hop)) return hop
    }
    return client
  }
}

/** Whether `entry` is an address or a CIDR range, as `trustedProxies` takes them. */
export function isProxyRange(entry: string): boolean {
  return parseProxyRange(entry) !== undefined
}

function addProxyRange(list: BlockList, entry: string): void {
  const range = parseProxyRange(entry)
  if (range === undefined) {
    throw new RangeError(
      `trustedProxies: ${JSON.stringify(entry)} is not an IP address or a CIDR range (such as 10.0.0.0/8 or 2001:db8::/32).`,
    )
  }
  const type = range.family === 4 ? "ipv4" : "ipv6"
  if (range.prefix === undefined) list.addAddress(range.address, type)
  else list.addSubnet(range.address, range.prefix, type)
}

function parseProxyRange(
  entry: string,
): { address: string; family: 4 | 6; prefix: number | undefined } | undefined {
  const slash = entry.indexOf("/")
  const rawAddress = (slash === -1 ? entry : entry.slice(0, slash)).trim()
  if (isIP(rawAddress) === 0) return undefined
  let address = canonicalAddress(rawAddress)
  let prefix: number | undefined
  if (slash !== -1) {
    const text = entry.slice(slash + 1).trim()
    if (!/^\d{1,3}$/.test(text)) return undefined
    prefix = Number(text)
    // An IPv4-mapped range (::ffff:10.0.0.0/104) is the IPv4 range it maps.
    if (isIP(address) === 4 && isIP(rawAddress) === 6) {
      if (prefix < 96) return undefined
      prefix -= 96
    }
  }
  const family = isIP(address) as 4 | 6
  if (prefix !== undefined && prefix > (family === 4 ? 32 : 128)) return undefined
  if (family === 6) address = address.replace(/%.*$/, "")
  return { address, family, prefix }
}

/**
 * An IP address in one spelling, so that one client is counted once however it is written:
 * IPv6 lowercased and compressed, IPv4-mapped IPv6 (`::ffff:10.1.2.3`) as plain IPv4 — what a
 * dual-stack socket reports for an IPv4 peer.
 */
export function canonicalAddress(address: string): string {
  if (isIP(address) !== 6) return address
  let compressed: string
  try {
    compressed = new URL(`http://[${address}]/`).hostname.slice(1, -1)
  } catch {
    // A zone (fe80::1%eth0) is no URL host; it is already one spelling per interface.
    return address.toLowerCase()
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed)
  if (mapped === null) return compressed
  const high = Number.parseInt(mapped[1] as string, 16)
  const low = Number.parseInt(mapped[2] as string, 16)
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`
}

/**
 * The hops of an `X-Forwarded-For` value, left to right; `undefined` for an entry that is no
 * address. Entries may carry a port (`203.0.113.7:4711`, `[2001:db8::1]:4711`), as some proxies add.
 */
function xForwardedForHops(value: string): (string | undefined)[] {
  return value.split(",").map((entry) => nodeAddress(entry.trim()))
}

/**
 * The `for=` hops of a `Forwarded` value (RFC 7239), left to right: one per forwarded-element,
 * `undefined` where the element has no `for`, or names `unknown`, an obfuscated identifier, or
 * something that is no address.
 */
function forwardedHops(value: string): (string | undefined)[] {
  const hops: (string | undefined)[] = []
  for (const element of splitOutsideQuotes(value, ",")) {
    let hop: string | undefined
    for (const pair of splitOutsideQuotes(element, ";")) {
      const equals = pair.indexOf("=")
      if (equals === -1 || pair.slice(0, equals).trim().toLowerCase() !== "for") continue
      hop = nodeAddress(unquote(pair.slice(equals + 1).trim()))
    }
    hops.push(hop)
  }
  return hops
}

/** A node of RFC 7239 §6 (`192.0.2.43`, `192.0.2.43:47011`, `[2001:db8::17]:4711`) as an address. */
function nodeAddress(node: string): string | undefined {
  let host = node
  if (host.startsWith("[")) {
    const close = host.indexOf("]")
    if (close === -1) return undefined
    const rest = host.slice(close + 1)
    if (rest !== "" && !/^:\d+$/.test(rest)) return undefined
    host = host.slice(1, close)
    return isIP(host) === 6 ? canonicalAddress(host) : undefined
  }
  const colon = host.indexOf(":")
  // One colon: IPv4 with a port. More: a bare IPv6 address, as X-Forwarded-For writes them.
  if (colon !== -1 && colon === host.lastIndexOf(":")) {
    if (!/^\d+$/.test(host.slice(colon + 1))) return undefined
    host = host.slice(0, colon)
    return isIP(host) === 4 ? host : undefined
  }
  return isIP(host) === 0 ? undefined : canonicalAddress(host)
}

/** A quoted-string's content (backslash escapes undone), or the token as it is. */
function unquote(value: string): string {
  if (!value.startsWith('"')) return value
  if (value.length < 2 || !value.endsWith('"')) return ""
  return value.slice(1, -1).replace(/\\(.)/g, "$1")
}

/** Splits at `separator`, except inside a quoted-string. */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = []
  let start = 0
  let quoted = false
  for (let index = 0; index < text.length; index++) {
    const char = text[index]
    if (quoted && char === "\\") index++
    else if (char === '"') quoted = !quoted
    else if (!quoted && char === separator) {
      parts.push(text.slice(start, index))
      start = index + 1
    }
  }
  parts.push(text.slice(start))
  return parts
}
