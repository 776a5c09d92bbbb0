import { once } from "node:events"
import { createServer, get, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "vitest"
import { AuthError, bearerChallenge, quoteAuthParam } from "../../src/auth/errors.js"

describe("AuthError", () => {
  it("carries status, code and description; reason defaults to the description", () => {
    const error = new AuthError(401, "invalid_token", "expired")
    expect(error).toBeInstanceOf(Error)
    expect(error.name).toBe("AuthError")
    expect([error.status, error.code, error.description, error.reason]).toEqual([
      401,
      "invalid_token",
      "expired",
      "expired",
    ])
    const masked = new AuthError(401, "invalid_token", "the access token is invalid", "expired at …")
    expect(masked.description).toBe("the access token is invalid")
    expect(masked.reason).toBe("expired at …")
    expect(masked.message).toBe("expired at …")
  })
})

describe("bearerChallenge", () => {
  it("has no error parameter when no token was presented", () => {
    expect(bearerChallenge(undefined, undefined)).toBe("Bearer")
    expect(bearerChallenge(undefined, "https://hub.test/.well-known/oauth-protected-resource")).toBe(
      'Bearer resource_metadata="https://hub.test/.well-known/oauth-protected-resource"',
    )
    expect(bearerChallenge(new AuthError(401, undefined, "a token is required"), "https://m")).toBe(
      'Bearer resource_metadata="https://m"',
    )
  })

  it("renders error, error_description and resource_metadata in that order", () => {
    const error = new AuthError(401, "invalid_token", "the token expired")
    expect(bearerChallenge(error, "https://m")).toBe(
      'Bearer error="invalid_token", error_description="the token expired", resource_metadata="https://m"',
    )
    expect(bearerChallenge(new AuthError(403, "insufficient_scope", "no publish grant"), undefined)).toBe(
      'Bearer error="insufficient_scope", error_description="no publish grant"',
    )
  })

  it("escapes quotes and backslashes, strips CR/LF, and keeps the header ASCII", () => {
    expect(quoteAuthParam('typ is "JWT"')).toBe('"typ is \\"JWT\\""')
    expect(quoteAuthParam("a\\b")).toBe('"a\\\\b"')
    expect(quoteAuthParam("a\r\nSet-Cookie: x")).toBe('"aSet-Cookie: x"')
    expect(quoteAuthParam("tab\there\u0000")).toBe('"tab here "')
    expect(quoteAuthParam("é")).toBe('"%C3%A9"')
    expect(quoteAuthParam("\uD800")).toBe('"%EF%BF%BD"')
  })

  it("bounds the description's length", () => {
    const header = bearerChallenge(new AuthError(401, "invalid_token", "x".repeat(5000)), undefined)
    expect(header.length).toBeLessThan(600)
    expect(header).toContain('..."')
  })

  it("produces a header Node sends and a client reads back intact", async () => {
    const description = 'iss "https://évil.test/\\" \r\nX-Injected: 1 is not trusted'
    const value = bearerChallenge(new AuthError(401, "invalid_token", description), "https://hub.test/meta")
    const server = createServer((_req, res) => {
      res.writeHead(401, { "www-authenticate": value })
      res.end()
    })
    server.listen(0, "127.0.0.1")
    await once(server, "listening")
    try {
      const { port } = server.address() as AddressInfo
      const req = get(`http://127.0.0.1:${port}/`)
      const [res] = (await once(req, "response")) as [IncomingMessage]
      res.resume()
      expect(res.statusCode).toBe(401)
      expect(res.headers["x-injected"]).toBeUndefined()
      expect(res.headers["www-authenticate"]).toBe(
        'Bearer error="invalid_token", error_description="iss \\"https://%C3%A9vil.test/\\\\\\" X-Injected: 1 is not trusted", resource_metadata="https://hub.test/meta"',
      )
    } finally {
      server.close()
    }
  })
})
