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
