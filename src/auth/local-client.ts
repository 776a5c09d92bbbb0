import type { IncomingMessage } from "node:http"
import { isLoopbackHost } from "./loopback.js"

/** Headers a proxy adds: a request carrying one was sent by someone else, wherever it came from. */
const FORWARDING_HEADERS = ["forwarded", "x-forwarded-for", "x-real-ip"] as const

/**
 * Whether `request` comes from a client on this machine: its peer is a loopback address and no
 * proxy forwarded it (a reverse proxy on the same machine connects from loopback on behalf of
 * anyone). The hub's one answer to "is this a local client?", so that a client-address resolver
 * for trusted proxies can take its place.
 */
export function isLocalClient(request: IncomingMessage): boolean {
  if (FORWARDING_HEADERS.some((name) => request.headers[name] !== undefined)) return false
  const address = request.socket.remoteAddress
  return address !== undefined && isLoopbackHost(address)
}

/** What {@link isTrustedLocalRequest} checks a local request against. */
export interface LocalTrust {
  /** Whether a page of `origin` may act with the developer's rights (the app's CORS allowlist). */
  trusts(origin: string): boolean
  /** The server's own public host name, besides loopback names. */
  readonly hostname: string
}

/**
 * Dev mode's test (docs/authorization.md, "Dev mode"): a local client, not sent by a page of an
 * untrusted origin, naming this server as its host. A browser on the developer's machine is a
 * local client for every site it visits: a page of another origin (CSRF), or one whose name an
 * attacker pointed at 127.0.0.1 (DNS rebinding: its `Host` is the attacker's name), gets nothing
 * from the address alone.
 */
export function isTrustedLocalRequest(request: IncomingMessage, trust: LocalTrust): boolean {
  return isTrustedPage(request, trust) && isLocalToThisServer(request, trust)
}

/**
 * Whether the page that sent `request`, if a page did, may act with the developer's rights: none
 * (no `Origin`), an origin `trust` trusts, or the request's own origin on a loopback host — a
 * page this server served, opened by another loopback name than the hub URL's (the banner's
 * http://127.0.0.1:PORT where the hub URL says localhost). A page of another loopback port, or of
 * any other origin, is not one; nor is a page reached by a name an attacker pointed at
 * 127.0.0.1 (its `Host` is that name, not a loopback one), nor a page of another port whose
 * requests a proxy on this machine passes on with their `Host` (Vite's `server.proxy` by
 * default: its `Host` names the proxy's port, not the one the request reached).
 */
function isTrustedPage(request: IncomingMessage, trust: LocalTrust): boolean {
  const origin = request.headers.origin
  return origin === undefined || trust.trusts(origin) || origin === ownLoopbackOrigin(request)
}

/**
 * The origin `request` names itself by (its scheme and `Host`) when its host is a loopback one
 * and its port (80 or 443 when left out) the one of the socket the request reached, else
 * `undefined`.
 */
function ownLoopbackOrigin(request: IncomingMessage): string | undefined {
  const host = hostOf(request)
  if (host === undefined) return undefined
  // HTTP/2 says its scheme; HTTP/1.1 is https on a TLS socket.
  const said = request.headers[":scheme"]
  const scheme =
    typeof said === "string"
      ? said
      : (request.socket as { encrypted?: boolean } | undefined)?.encrypted === true
        ? "https"
        : "http"
  // Another scheme has an opaque origin, `null`, as a sandboxed page's `Origin` says.
  if (scheme !== "http" && scheme !== "https") return undefined
  let url: URL
  try {
    url = new URL(`${scheme}://${host}`)
  } catch {
    return undefined
  }
  if (!isLoopbackHost(url.hostname)) return undefined
  // A URL leaves out its scheme's default port.
  const port = url.port === "" ? (scheme === "https" ? 443 : 80) : Number(url.port)
  return request.socket?.localPort === port ? url.origin : undefined
}

/**
 * What a client on this machine, refused for want of a token, is told when dev mode's rule is
 * what kept it from being trusted (docs/authorization.md, "Dev mode"), else `undefined`: the app's
 * own message then. A page of another origin (a dev server on another port) is told to trust its
 * origin; a client naming the server by another host (a name in /etc/hosts, or a DNS-rebinding
 * page) to use localhost. A request a proxy forwarded, or one in HTTP/1.0 (nginx's bare
 * `proxy_pass`), may come from anyone: it is told only that a token is needed.
 */
export function untrustedLocalMessage(request: IncomingMessage, trust: LocalTrust): string | undefined {
  if (!isDirectLocalClient(request)) return undefined
  const trusted = "This server trusts clients on this machine without a token"
  if (!namesThisServer(request, trust)) {
    const host = request.headers.host ?? request.headers[":authority"] ?? "none"
    return `${trusted} when they name it by a loopback host or its own, not ${host}: use localhost, or send a token.`
  }
  const page = request.headers.origin
  if (page === undefined || isTrustedPage(request, trust)) return undefined
  return `${trusted}, but not pages of ${page}: start it with --cors-origins ${page}, or send a token.`
}

/**
 * A client on this machine that names this server (a loopback host, or the hub's own) as its
 * host. Not one in HTTP/1.0: nginx's bare `proxy_pass` adds no forwarding header, but speaks
 * HTTP/1.0 unless told otherwise, which no browser or HTTP client of today does (a monitoring
 * check may, which the metrics' own loopback rule lets in).
 */
function isLocalToThisServer(request: IncomingMessage, trust: LocalTrust): boolean {
  return isDirectLocalClient(request) && namesThisServer(request, trust)
}

/** A local client (no proxy forwarded it) not in HTTP/1.0, which nginx's bare `proxy_pass` speaks. */
function isDirectLocalClient(request: IncomingMessage): boolean {
  return isLocalClient(request) && request.httpVersion !== "1.0"
}

/** Whether `request` names this server as its host: a loopback name, or the server's own. */
function namesThisServer(request: IncomingMessage, trust: LocalTrust): boolean {
  const host = hostnameOf(hostOf(request))
  return host !== undefined && (isLoopbackHost(host) || host === trust.hostname)
}

/** The host `request` names, port included: its `Host`, or HTTP/2's `:authority`. */
function hostOf(request: IncomingMessage): string | undefined {
  // HTTP/2 names the host in `:authority`; browsers send no `Host` there (RFC 9113 §8.3.1).
  const authority = request.headers[":authority"]
  return request.headers.host ?? (typeof authority === "string" ? authority : undefined)
}

/** The host name of a `Host` header (`example.com:8080`, `[::1]:80`), or `undefined` when it is not one. */
function hostnameOf(host: string | undefined): string | undefined {
  if (host === undefined) return undefined
  try {
    return new URL(`http://${host}`).hostname
  } catch {
    return undefined
  }
}
