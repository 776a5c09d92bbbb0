// Dev mode's local-client rule on requests as a browser sends them: a page the server served,
// opened by a loopback name that is not the hub URL's (http://127.0.0.1:PORT where the hub URL
// says localhost), is trusted like one opened by the hub URL's; a page of another origin, a name
// pointed at 127.0.0.1 (DNS rebinding), a request a proxy forwarded, or one a proxy on another
// port passed on with its Host (Vite's server.proxy) is not.
import type { IncomingMessage } from "node:http"
import { describe, expect, it } from "vitest"
import { createCors } from "../../src/auth/cors.js"
import { isTrustedLocalRequest, type LocalTrust, untrustedLocalMessage } from "../../src/auth/local-client.js"

/** The trust of `herald serve` in dev mode on port 7601 with its default hub URL. */
const cors = createCors([], "http://localhost:7601")
const TRUST: LocalTrust = { trusts: (origin) => cors.trusts(origin), hostname: "localhost" }

/**
 * A request as `node:http` hands it over: headers, the peer's address, the port it reached (the
 * server's, 7601), TLS or not.
 */
function request(
  headers: Record<string, string>,
  { address = "127.0.0.1", port = 7601, tls = false, version = "1.1" } = {},
): IncomingMessage {
  return {
    headers,
    httpVersion: version,
    socket: { remoteAddress: address, localPort: port, ...(tls ? { encrypted: true } : {}) },
  } as unknown as IncomingMessage
}

describe("isTrustedLocalRequest", () => {
  it("trusts a page of the request's own origin on a loopback host: the page the server served, by any loopback name", () => {
    const cases: [Record<string, string>, { tls?: boolean; port?: number }][] = [
      [{ host: "127.0.0.1:7601", origin: "http://127.0.0.1:7601" }, {}],
      [{ host: "[::1]:7601", origin: "http://[::1]:7601" }, {}],
      [{ host: "127.0.0.2:7601", origin: "http://127.0.0.2:7601" }, {}],
      [{ host: "LOCALHOST:7601", origin: "http://localhost:7601" }, {}],
      // A Host without a port names its scheme's default, the port the server listens on here.
      [{ host: "127.0.0.1", origin: "http://127.0.0.1" }, { port: 80 }],
      [{ host: "127.0.0.1:80", origin: "http://127.0.0.1" }, { port: 80 }],
      [
        { host: "127.0.0.1", origin: "https://127.0.0.1" },
        { tls: true, port: 443 },
      ],
      [{ host: "127.0.0.1:7601", origin: "https://127.0.0.1:7601" }, { tls: true }],
      // HTTP/2 names its scheme and host in pseudo-headers.
      [
        { ":scheme": "https", ":authority": "127.0.0.1:7601", origin: "https://127.0.0.1:7601" },
        { tls: true },
      ],
      [
        { ":scheme": "https", ":authority": "127.0.0.1", origin: "https://127.0.0.1" },
        { tls: true, port: 443 },
      ],
    ]
    for (const [headers, options] of cases) {
      expect([headers, isTrustedLocalRequest(request(headers, options), TRUST)]).toEqual([headers, true])
      expect(untrustedLocalMessage(request(headers, options), TRUST)).toBeUndefined()
    }
    // The hub URL's own origin, as before, and a request no page sent.
    expect(
      isTrustedLocalRequest(request({ host: "localhost:7601", origin: "http://localhost:7601" }), TRUST),
    ).toBe(true)
    expect(isTrustedLocalRequest(request({ host: "127.0.0.1:7601" }), TRUST)).toBe(true)
  })

  it("does not trust a page of another origin than the request's own, nor one on a name pointed at 127.0.0.1", () => {
    const cases: [string, Record<string, string>, { tls?: boolean; address?: string; port?: number }][] = [
      ["another loopback port", { host: "127.0.0.1:7601", origin: "http://127.0.0.1:5173" }, {}],
      ["another loopback port, localhost", { host: "localhost:7601", origin: "http://localhost:5173" }, {}],
      [
        "Origin naming another loopback host",
        { host: "localhost:7601", origin: "http://127.0.0.1:7601" },
        {},
      ],
      ["Origin naming another loopback address", { host: "127.0.0.1:7601", origin: "http://[::1]:7601" }, {}],
      ["a site's page", { host: "127.0.0.1:7601", origin: "https://evil.example" }, {}],
      ["another scheme", { host: "127.0.0.1:7601", origin: "https://127.0.0.1:7601" }, {}],
      ["http on a TLS socket", { host: "127.0.0.1:7601", origin: "http://127.0.0.1:7601" }, { tls: true }],
      ["a sandboxed page", { host: "127.0.0.1:7601", origin: "null" }, {}],
      [
        "DNS rebinding: a non-loopback Host",
        { host: "evil.example:7601", origin: "http://evil.example:7601" },
        {},
      ],
      ["a name in /etc/hosts", { host: "myapp.test:7601", origin: "http://myapp.test:7601" }, {}],
      [
        "forwarded by a proxy",
        { host: "127.0.0.1:7601", origin: "http://127.0.0.1:7601", "x-forwarded-for": "203.0.113.7" },
        {},
      ],
      [
        "not a local client",
        { host: "127.0.0.1:7601", origin: "http://127.0.0.1:7601" },
        { address: "203.0.113.7" },
      ],
      // A proxy on this machine that keeps the Host and adds no X-Forwarded-* (Vite's server.proxy
      // by default) passes on a page of its own port: its Host is not the port the request reached.
      ["proxied from another port", { host: "localhost:7651", origin: "http://localhost:7651" }, {}],
      [
        "proxied from another port, 127.0.0.1",
        { host: "127.0.0.1:7651", origin: "http://127.0.0.1:7651" },
        {},
      ],
      ["proxied from port 80", { host: "127.0.0.1", origin: "http://127.0.0.1" }, {}],
      ["proxied from port 443", { host: "127.0.0.1", origin: "https://127.0.0.1" }, { tls: true }],
      ["proxied to port 80", { host: "127.0.0.1:7651", origin: "http://127.0.0.1:7651" }, { port: 80 }],
      [
        "proxied over HTTP/2",
        { ":scheme": "https", ":authority": "127.0.0.1:7651", origin: "https://127.0.0.1:7651" },
        { tls: true },
      ],
    ]
    for (const [what, headers, options] of cases) {
      expect([what, isTrustedLocalRequest(request(headers, options), TRUST)]).toEqual([what, false])
    }
    // The page of another port is told what is not trusted: its origin; through a proxy too.
    expect(
      untrustedLocalMessage(request({ host: "localhost:7651", origin: "http://localhost:7651" }), TRUST),
    ).toBe(
      "This server trusts clients on this machine without a token, but not pages of http://localhost:7651: start it with --cors-origins http://localhost:7651, or send a token.",
    )
    expect(
      untrustedLocalMessage(request({ host: "127.0.0.1:7601", origin: "http://127.0.0.1:5173" }), TRUST),
    ).toBe(
      "This server trusts clients on this machine without a token, but not pages of http://127.0.0.1:5173: start it with --cors-origins http://127.0.0.1:5173, or send a token.",
    )
  })
})
