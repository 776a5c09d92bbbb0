import { describe, expect, it } from "vitest"
import { AuthError } from "../../src/auth/errors.js"
import type { Grants } from "../../src/auth/grants.js"
import { cacheVerifications } from "../../src/auth/token-cache.js"
import type { TokenVerifier } from "../../src/auth/verifier.js"

/** A verifier that counts its calls; tokens starting with "bad" fail, `exp:<ms>` tokens expire then. */
function countingVerifier(): TokenVerifier & { calls: number } {
  const verifier = {
    calls: 0,
    async verify(token: string): Promise<Grants> {
      verifier.calls++
      if (token.startsWith("bad")) throw new AuthError(401, "invalid_token", "bad signature")
      const expiresAt = token.startsWith("exp:") ? Number(token.slice(4)) : undefined
      return {
        anonymous: false,
        issuer: "i",
        subject: token,
        expiresAt,
        can: () => true,
        payloadFor: () => undefined,
      }
    },
  }
  return verifier
}

describe("cacheVerifications", () => {
  it("verifies a token once, per role, until it ages out", async () => {
    let time = 1000
    const inner = countingVerifier()
    const cached = cacheVerifications(inner, { maxAgeMs: 100 }, () => time)
    const first = await cached.verify("t", "publish")
    expect(await cached.verify("t", "publish")).toBe(first)
    expect(inner.calls).toBe(1)
    await cached.verify("t", "subscribe")
    expect(inner.calls).toBe(2)
    time += 100
    await cached.verify("t", "publish")
    expect(inner.calls).toBe(3)
  })

  it("re-verifies a remembered token once it expires, so an expired token is refused", async () => {
    let time = 1000
    const inner = countingVerifier()
    const expiring: TokenVerifier = {
      verify: async (token, role) => {
        if (time >= 2000) throw new AuthError(401, "invalid_token", "expired")
        return inner.verify(token, role)
      },
    }
    const cached = cacheVerifications(expiring, {}, () => time)
    await cached.verify("exp:2000", "publish")
    time = 1999
    await cached.verify("exp:2000", "publish")
    expect(inner.calls).toBe(1)
    time = 2000
    await expect(cached.verify("exp:2000", "publish")).rejects.toThrow("expired")
  })

  it("never caches a failure, nor tokens over the length limit, and forgets the least recently used", async () => {
    const inner = countingVerifier()
    const cached = cacheVerifications(inner, { maxEntries: 2, maxTokenLength: 10 })
    await expect(cached.verify("bad", "publish")).rejects.toThrow("bad signature")
    await expect(cached.verify("bad", "publish")).rejects.toThrow("bad signature")
    expect(inner.calls).toBe(2)
    await cached.verify("x".repeat(11), "publish")
    await cached.verify("x".repeat(11), "publish")
    expect(inner.calls).toBe(4)
    await cached.verify("a", "publish")
    await cached.verify("b", "publish")
    await cached.verify("a", "publish") // a is now the most recent
    await cached.verify("c", "publish") // evicts b
    expect(inner.calls).toBe(7)
    await cached.verify("a", "publish")
    expect(inner.calls).toBe(7)
    await cached.verify("b", "publish")
    expect(inner.calls).toBe(8)
  })
})
