import { createHmac } from "node:crypto"
import { once } from "node:events"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import fc from "fast-check"
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, importPKCS8, SignJWT } from "jose"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AuthError } from "../../src/auth/errors.js"
import type { TrustedKey } from "../../src/auth/keys.js"
import { createTokenVerifier, type VerifierOptions } from "../../src/auth/verifier.js"

const RESOURCE = "https://hub.test/.well-known/mercure"
const ISSUER = "https://app.test"
const SECRET = "a-test-secret-that-is-at-least-32-bytes-long!"
const DETAIL = "https://mercure.rocks/authorization-detail"
const context = { hubUrl: new URL(RESOURCE) }
const now = () => Math.floor(Date.now() / 1000)

/** Claims of a valid draft-08 token granting `subscribe` on everything. */
function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: RESOURCE,
    sub: "user-1",
    client_id: ISSUER,
    iat: now(),
    exp: now() + 600,
    jti: "jti-1",
    authorization_details: [{ type: DETAIL, actions: ["subscribe", "publish"], topics: [{ match: "*" }] }],
    ...extra,
  }
}

type Key = CryptoKey | Uint8Array
const secretKey = new TextEncoder().encode(SECRET)

/** Signs `payload` with jose; `header` may carry anything (typ, kid, jku…). */
function sign(
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
  key: Key = secretKey,
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: "HS256", typ: "at+jwt", ...header }).sign(key)
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

/** Builds a compact JWS by hand, HMAC-signed with `secret` (any bytes, any `alg` label). */
function handmade(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  secret?: string | Buffer,
): string {
  const input = `${b64(header)}.${b64(payload)}`
  const signature = secret === undefined ? "" : createHmac("sha256", secret).update(input).digest("base64url")
  return `${input}.${signature}`
}

function verifier(options: Partial<VerifierOptions> = {}) {
  return createTokenVerifier({
    keys: [{ kind: "secret", secret: SECRET }],
    resource: RESOURCE,
    matcherContext: context,
    ...options,
  })
}

/** The AuthError a verification rejects with. */
async function rejection(promise: Promise<unknown>): Promise<AuthError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(AuthError)
    const auth = error as AuthError
    expect([auth.status, auth.code]).toEqual([401, "invalid_token"])
    return auth
  }
  throw new Error("expected the token to be refused")
}

/** The full reason of a refusal, as the hub logs it (what a client reads may say less: see "what a caller without a valid signature learns"). */
async function reason(promise: Promise<unknown>): Promise<string> {
  return (await rejection(promise)).reason
}

describe("token verification: the accepted token", () => {
  it("accepts a valid at+jwt and exposes issuer, subject, expiry and grants", async () => {
    const exp = now() + 600
    const grants = await verifier().verify(await sign(claims({ exp })), "subscribe")
    expect(grants.anonymous).toBe(false)
    expect(grants.issuer).toBe(ISSUER)
    expect(grants.subject).toBe("user-1")
    expect(grants.expiresAt).toBe(exp * 1000)
    expect(grants.can("hub", "subscribe", "https://example.com/books/1")).toBe(true)
  })

  it("accepts typ application/at+jwt and any case", async () => {
    for (const typ of ["application/at+jwt", "AT+JWT", "Application/At+Jwt"]) {
      await expect(verifier().verify(await sign(claims(), { typ }), "subscribe")).resolves.toBeTruthy()
    }
  })

  it("accepts aud as an array containing the resource", async () => {
    const token = await sign(claims({ aud: ["https://other.test", RESOURCE] }))
    await expect(verifier().verify(token, "subscribe")).resolves.toBeTruthy()
  })

  it("grants only the role whose keys validated the token", async () => {
    const token = await sign(claims())
    const asSubscriber = await verifier().verify(token, "subscribe")
    expect(asSubscriber.can("hub", "subscribe", "x")).toBe(true)
    expect(asSubscriber.can("hub", "publish", "x")).toBe(false)
    const asPublisher = await verifier().verify(token, "publish")
    expect(asPublisher.can("hub", "publish", "x")).toBe(true)
    expect(asPublisher.can("hub", "subscribe", "x")).toBe(false)
  })
})

describe("token verification: algorithms", () => {
  it("never accepts alg none, whatever its spelling", async () => {
    for (const alg of ["none", "NONE", "None"]) {
      const token = handmade({ alg, typ: "at+jwt" }, claims())
      expect(await reason(verifier().verify(token, "subscribe"))).toContain('"none"')
    }
  })

  it("refuses an algorithm outside the allowlist and names the allowed ones", async () => {
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: "HS512", typ: "at+jwt" })
      .sign(secretKey)
    expect(await reason(verifier().verify(token, "subscribe"))).toBe(
      'algorithm "HS512" is not allowed (allowed: HS256, RS256, ES256, EdDSA); sign with one of them or allow it in the hub\'s configuration (--algorithms)',
    )
    await expect(verifier({ algorithms: ["HS512"] }).verify(token, "subscribe")).resolves.toBeTruthy()
  })

  it("refuses none or unknown algorithms in the configuration", () => {
    expect(() => verifier({ algorithms: ["none"] })).toThrow(/never accepted/)
    expect(() => verifier({ algorithms: ["HS257"] })).toThrow(/unsupported algorithm "HS257"/)
    expect(() => verifier({ algorithms: [] })).toThrow(/empty/)
  })

  it("refuses a key that fits none of the allowed algorithms: it would refuse every token", async () => {
    expect(() => verifier({ algorithms: ["RS256", "ES256"] })).toThrow(
      "createTokenVerifier: keys[0] fits none of the allowed algorithms (RS256, ES256): it is a shared secret, which takes HS256, HS384, HS512; allow one of these, or configure a key for an allowed algorithm",
    )
    const pem = await exportSPKI((await generateKeyPair("RS256", { extractable: true })).publicKey)
    const rsa: TrustedKey = { kind: "pem", pem }
    expect(() =>
      verifier({ keys: [{ kind: "secret", secret: SECRET }, rsa], algorithms: ["HS256"] }),
    ).toThrow(
      /keys\[1\] fits none of the allowed algorithms \(HS256\): it is an RSA public key, which takes RS256/,
    )
    expect(() =>
      verifier({ keys: [{ kind: "jwks", url: "https://idp.example/jwks.json" }], algorithms: ["HS256"] }),
    ).toThrow(
      /keys\[0\] fits none of the allowed algorithms \(HS256\): it is a JWK Set \(asymmetric keys only\)/,
    )
    // An EC key takes the one algorithm of its curve.
    const p384: TrustedKey = {
      kind: "pem",
      pem: await exportSPKI((await generateKeyPair("ES384", { extractable: true })).publicKey),
    }
    expect(() => verifier({ keys: [p384], algorithms: ["ES256"] })).toThrow(
      /keys\[0\] fits none of the allowed algorithms \(ES256\): it is an EC public key on P-384, which takes ES384;/,
    )
    expect(() => verifier({ keys: [rsa], algorithms: ["HS256", "PS256"] })).not.toThrow()
    expect(() => verifier({ keys: [p384], algorithms: ["ES384"] })).not.toThrow()
  })

  it("defeats algorithm confusion: an HS256 token signed with the RSA public key as secret", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true })
    const pem = await exportSPKI(publicKey)
    const rsaOnly = verifier({ keys: [{ kind: "pem", pem }] })
    // Sanity: the same key verifies a genuine RS256 token.
    const genuine = await new SignJWT(claims())
      .setProtectedHeader({ alg: "RS256", typ: "at+jwt" })
      .sign(privateKey)
    await expect(rsaOnly.verify(genuine, "subscribe")).resolves.toBeTruthy()
    for (const secret of [pem, pem.trim(), Buffer.from(pem)]) {
      const forged = handmade({ alg: "HS256", typ: "at+jwt" }, claims(), secret)
      const why = await reason(rsaOnly.verify(forged, "subscribe"))
      expect(why).toContain('algorithm "HS256" does not fit the key configured for subscribers')
      expect(why).toContain("an RSA public key, which takes RS256")
    }
  })

  it("does not try an HMAC secret on an RS256 token", async () => {
    const { privateKey } = await generateKeyPair("RS256")
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: "RS256", typ: "at+jwt" })
      .sign(privateKey)
    expect(await reason(verifier().verify(token, "subscribe"))).toContain(
      "it is a shared secret, which takes HS256",
    )
  })
})

describe("token verification: type and claims", () => {
  it("refuses an ID token (typ JWT) and a token without typ", async () => {
    expect(
      await reason(verifier({ legacy: false }).verify(await sign(claims(), { typ: "JWT" }), "subscribe")),
    ).toBe(
      '"typ" is "JWT", expected "at+jwt": the hub accepts OAuth access tokens (RFC 9068), not ID tokens or other JWTs',
    )
    const withHint = await reason(verifier().verify(await sign(claims(), { typ: "JWT" }), "subscribe"))
    expect(withHint).toContain('a pre-standardization token would carry a "mercure" claim')
    const untyped = await new SignJWT(claims()).setProtectedHeader({ alg: "HS256" }).sign(secretKey)
    expect(await reason(verifier().verify(untyped, "subscribe"))).toContain('no "typ"')
    expect(await reason(verifier().verify(await sign(claims(), { typ: "jwt+at" }), "subscribe"))).toContain(
      '"typ" is "jwt+at"',
    )
  })

  it("requires exp, and refuses an expired token with the time and the fix", async () => {
    const { exp: _, ...noExp } = claims()
    expect(await reason(verifier().verify(await sign(noExp), "subscribe"))).toContain('no "exp" claim')
    const exp = now() - 60
    const why = await reason(verifier().verify(await sign(claims({ exp })), "subscribe"))
    expect(why).toContain(`the token expired at ${new Date(exp * 1000).toISOString()} (hub clock: `)
    expect(why).toContain("issue a fresh token")
    expect(await reason(verifier().verify(await sign(claims({ exp: "soon" })), "subscribe"))).toContain(
      '"exp" is the string "soon"',
    )
  })

  it("tolerates clock skew within clockToleranceSec only", async () => {
    const token = await sign(claims({ exp: now() - 2 }))
    await expect(verifier().verify(token, "subscribe")).resolves.toBeTruthy()
    await rejection(verifier({ clockToleranceSec: 0 }).verify(token, "subscribe"))
  })

  it("enforces nbf", async () => {
    const nbf = now() + 3600
    const why = await reason(verifier().verify(await sign(claims({ nbf })), "subscribe"))
    expect(why).toContain(`not valid before ${new Date(nbf * 1000).toISOString()}`)
    await expect(
      verifier().verify(await sign(claims({ nbf: now() - 10 })), "subscribe"),
    ).resolves.toBeTruthy()
  })

  it("follows the injected clock", async () => {
    const token = await sign(claims({ exp: now() + 60 }))
    await rejection(verifier({ now: () => Date.now() + 120_000 }).verify(token, "subscribe"))
  })

  it("requires aud to contain the resource, as a string or in an array", async () => {
    expect(
      await reason(verifier().verify(await sign(claims({ aud: "https://other.test/hub" })), "subscribe")),
    ).toBe(
      `"aud" does not contain "${RESOURCE}" (it has "https://other.test/hub"); issue the token for this hub's resource identifier`,
    )
    expect(await reason(verifier().verify(await sign(claims({ aud: ["a", "b"] })), "subscribe"))).toContain(
      '(it has "a", "b")',
    )
    const { aud: _, ...noAud } = claims()
    expect(await reason(verifier().verify(await sign(noAud), "subscribe"))).toContain('no "aud" claim')
    expect(
      await reason(verifier().verify(await sign(claims({ aud: [RESOURCE, 1] })), "subscribe")),
    ).toContain("non-string")
    // The resource identifier is compared exactly: a trailing slash is another identifier.
    await rejection(verifier().verify(await sign(claims({ aud: `${RESOURCE}/` })), "subscribe"))
  })

  it("requires iss", async () => {
    const { iss: _, ...noIss } = claims()
    expect(await reason(verifier().verify(await sign(noIss), "subscribe"))).toContain('no "iss" claim')
    expect(await reason(verifier().verify(await sign(claims({ iss: 42 })), "subscribe"))).toContain(
      '"iss" is number 42',
    )
  })

  it("refuses tokens that are not compact JWS", async () => {
    const v = verifier()
    expect(await reason(v.verify("abc", "subscribe"))).toContain("three base64url parts")
    expect(await reason(v.verify("a.b.c.d.e", "subscribe"))).toContain("encrypted (JWE)")
    expect(await reason(v.verify("!!.e30.x", "subscribe"))).toContain("header is not base64url-encoded JSON")
    expect(await reason(v.verify(`${b64([1])}.${b64({})}.x`, "subscribe"))).toContain("header is an array")
    expect(
      await reason(v.verify(`${b64({ alg: "HS256", typ: "at+jwt" })}.bm90IGpzb24.x`, "subscribe")),
    ).toContain("payload is not base64url-encoded JSON")
    expect(
      await reason(verifier({ maxTokenLength: 10 }).verify(await sign(claims()), "subscribe")),
    ).toContain("over the hub's limit of 10")
  })

  it("refuses a signed token whose payload nests too deep to be written back (a subscription's payload)", async () => {
    let payload: unknown = "x"
    for (let i = 0; i < 200; i++) payload = [payload]
    const deep = claims({
      authorization_details: [
        { type: DETAIL, actions: ["subscribe"], topics: [{ match: "*" }], payload: { a: payload } },
      ],
    })
    expect(await reason(verifier().verify(await sign(deep), "subscribe"))).toContain(
      "payload nests more than 64 levels deep",
    )
    let shallow: unknown = "x"
    for (let i = 0; i < 50; i++) shallow = [shallow]
    const fine = claims({
      authorization_details: [
        { type: DETAIL, actions: ["subscribe"], topics: [{ match: "*" }], payload: { a: shallow } },
      ],
    })
    await expect(verifier().verify(await sign(fine), "subscribe")).resolves.toBeTruthy()
  })

  it("refuses a token whose signature does not verify", async () => {
    const token = await sign(claims(), {}, new TextEncoder().encode("another-secret-of-at-least-32-bytes!!"))
    expect(await reason(verifier().verify(token, "subscribe"))).toBe(
      "the signature does not verify with the key configured for subscribers; sign with the matching key",
    )
    // A tampered payload under a genuine signature.
    const [h, , s] = (await sign(claims())).split(".")
    const tampered = `${h}.${b64(claims({ sub: "admin" }))}.${s}`
    expect(await reason(verifier().verify(tampered, "subscribe"))).toContain("signature does not verify")
  })

  it("refuses unknown critical header parameters, telling the client so (not that the hub's keys are unavailable)", async () => {
    const token = handmade(
      { alg: "HS256", typ: "at+jwt", crit: ["exp-hint"], "exp-hint": 1 },
      claims(),
      SECRET,
    )
    const refused = await verifier()
      .verify(token, "subscribe")
      .then(
        () => undefined,
        (error: AuthError) => error,
      )
    const expected =
      'the token header lists critical extensions this hub does not support (crit: ["exp-hint"]); sign it without "crit"'
    expect(refused?.reason).toBe(expected)
    expect(refused?.description).toBe(expected)
    // The same token without `crit` verifies: the refusal is the crit's, not a bad signature.
    const plain = handmade({ alg: "HS256", typ: "at+jwt", "exp-hint": 1 }, claims(), SECRET)
    await expect(verifier().verify(plain, "subscribe")).resolves.toBeTruthy()
  })
})

describe("token verification: arbitrary input", () => {
  it("answers any string with a 401 AuthError, never another exception", async () => {
    const v = verifier()
    const part = fc.oneof(
      fc.string(),
      fc.json().map((json) => Buffer.from(json).toString("base64url")),
      fc.constant(b64({ alg: "HS256", typ: "at+jwt" })),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.array(part, { minLength: 1, maxLength: 6 }).map((p) => p.join(".")),
        ),
        async (token) => {
          // Every refusal is a foreseen one: none comes from the catch-all for unexpected exceptions.
          expect((await rejection(v.verify(token, "subscribe"))).reason).not.toMatch(
            /^the token could not be validated/,
          )
        },
      ),
      { numRuns: 300 },
    )
  })

  it("answers any signed claims with grants or a 401 AuthError", async () => {
    const v = verifier()
    const claim = fc.record(
      {
        iss: fc.oneof(fc.constant(ISSUER), fc.jsonValue()),
        aud: fc.oneof(fc.constant(RESOURCE), fc.constant([RESOURCE]), fc.jsonValue()),
        exp: fc.oneof(fc.constant(now() + 60), fc.jsonValue()),
        nbf: fc.jsonValue(),
        sub: fc.jsonValue(),
        authorization_details: fc.oneof(
          fc.jsonValue(),
          fc.array(
            fc.record({
              type: fc.constant(DETAIL),
              actions: fc.oneof(fc.jsonValue(), fc.array(fc.constantFrom("publish", "subscribe", "x"))),
              topics: fc.oneof(
                fc.jsonValue(),
                fc.array(
                  fc.record(
                    { match: fc.oneof(fc.string(), fc.jsonValue()), match_type: fc.jsonValue() },
                    { requiredKeys: ["match"] },
                  ),
                ),
              ),
            }),
          ),
        ),
        mercure: fc.jsonValue(),
      },
      { requiredKeys: [] },
    )
    await fc.assert(
      fc.asyncProperty(claim, async (payload) => {
        try {
          const grants = await v.verify(await sign(payload as Record<string, unknown>), "subscribe")
          expect(typeof grants.can("hub", "subscribe", "https://example.com/x")).toBe("boolean")
        } catch (error) {
          expect(error).toBeInstanceOf(AuthError)
          expect((error as AuthError).status).toBe(401)
          expect((error as AuthError).reason).not.toMatch(/^the token could not be validated/)
        }
      }),
      { numRuns: 300 },
    )
  })
})

describe("token verification: keys and issuers", () => {
  it("says how to configure keys when none are", async () => {
    const v = verifier({ keys: [] })
    expect(await reason(v.verify(await sign(claims()), "publish"))).toBe(
      "no key is configured for publishers, so no token can be validated; start the hub with --publisher-jwt-key (or --jwt-key)",
    )
    expect(await reason(v.verify(await sign(claims()), "subscribe"))).toContain("--subscriber-jwt-key")
    expect(
      await reason(verifier({ keys: [], keysHint: "HERALD_KEY" }).verify(await sign(claims()), "publish")),
    ).toContain("start the hub with HERALD_KEY")
  })

  it("verifies with the key bound to the token's issuer only, never a pooled set", async () => {
    const otherSecret = "the-other-issuers-secret-32-bytes-or-more"
    const keys: TrustedKey[] = [
      { kind: "secret", secret: SECRET, issuer: ISSUER },
      { kind: "secret", secret: otherSecret, issuer: "https://other.test" },
    ]
    const v = verifier({ keys })
    await expect(v.verify(await sign(claims()), "subscribe")).resolves.toBeTruthy()
    // Signed with the other issuer's key but claiming ISSUER: the other key is never tried.
    const crossed = await sign(claims(), {}, new TextEncoder().encode(otherSecret))
    expect(await reason(v.verify(crossed, "subscribe"))).toBe(
      `the signature does not verify with the key configured for issuer "${ISSUER}"; sign with the matching key`,
    )
    const claimsOther = await sign(
      claims({ iss: "https://other.test" }),
      {},
      new TextEncoder().encode(otherSecret),
    )
    expect((await v.verify(claimsOther, "subscribe")).issuer).toBe("https://other.test")
  })

  it("refuses an issuer no key is bound to, listing the trusted ones", async () => {
    const v = verifier({ keys: [{ kind: "secret", secret: SECRET, issuer: ISSUER }] })
    expect(await reason(v.verify(await sign(claims({ iss: "https://unknown.test" })), "subscribe"))).toBe(
      `no key is configured for issuer "https://unknown.test" (trusted issuers: "${ISSUER}"); check the token's "iss"`,
    )
  })

  it("uses unbound keys for issuers no key is bound to, and not for bound ones", async () => {
    const unboundSecret = "an-unbound-secret-trusting-any-issuer-32b"
    const v = verifier({
      keys: [
        { kind: "secret", secret: SECRET, issuer: ISSUER },
        { kind: "secret", secret: unboundSecret },
      ],
    })
    const unbound = new TextEncoder().encode(unboundSecret)
    await expect(
      v.verify(await sign(claims({ iss: "https://any.test" }), {}, unbound), "subscribe"),
    ).resolves.toBeTruthy()
    await rejection(v.verify(await sign(claims(), {}, unbound), "subscribe"))
  })

  it("lets kid choose among trusted keys, and never introduce one", async () => {
    const second = "the-second-secret-for-rotation-32-bytes!"
    const v = verifier({
      keys: [
        { kind: "secret", secret: SECRET, kid: "2024" },
        { kind: "secret", secret: second, kid: "2025" },
      ],
    })
    const secondKey = new TextEncoder().encode(second)
    await expect(
      v.verify(await sign(claims(), { kid: "2025" }, secondKey), "subscribe"),
    ).resolves.toBeTruthy()
    await expect(v.verify(await sign(claims(), {}, secondKey), "subscribe")).resolves.toBeTruthy()
    // kid names the 2024 key: the 2025 key is not tried.
    expect(await reason(v.verify(await sign(claims(), { kid: "2024" }, secondKey), "subscribe"))).toContain(
      "signature does not verify",
    )
    expect(await reason(v.verify(await sign(claims(), { kid: "2026" }, secondKey), "subscribe"))).toBe(
      'no key configured for subscribers has kid "2026" (configured: "2024", "2025")',
    )
  })

  it("refuses bad key configurations at creation", () => {
    expect(() => verifier({ keys: [{ kind: "secret", secret: "" }] })).toThrow(
      /keys\[0\]: the secret is empty/,
    )
    expect(() => verifier({ keys: [{ kind: "pem", pem: "not a pem" }] })).toThrow(
      /keys\[0\]: not a PEM public key/,
    )
    expect(() => verifier({ keys: [{ kind: "jwks", url: "/relative" }] })).toThrow(/not an absolute URL/)
    expect(() => verifier({ keys: [{ kind: "jwks", url: "file:///etc/keys" }] })).toThrow(/must be http/)
    expect(() => verifier({ resource: "" })).toThrow(/resource/)
    expect(() => verifier({ maxDetails: 0 })).toThrow(/maxDetails/)
  })

  it("keeps reasons for the logs when revealReasons is false", async () => {
    const error = await rejection(
      verifier({ revealReasons: false }).verify(await sign(claims({ aud: "x" })), "subscribe"),
    )
    expect(error.description).toBe("the access token is invalid")
    expect(error.reason).toContain('"aud" does not contain')
  })
})

describe("what a caller without a valid signature learns", () => {
  // Until the signature verifies, the caller may be anyone: the refusal it reads names what its
  // token says, never what the hub trusts. The full reason stays on the error for the logs.
  const KID = "kid-2025-internal"
  const bound = verifier({
    keys: [{ kind: "secret", secret: SECRET, issuer: ISSUER, kid: KID }],
    algorithms: ["HS256", "PS512"],
  })
  // The trusted issuer is checked separately: a token that names it may read it back. The allowed
  // algorithms are no secret: a client must know them to sign.
  const secrets = [KID, "mercure", "--publisher-jwt-key", "--subscriber-jwt-key"]

  it("no trusted issuer, key id, key type or legacy setting", async () => {
    const refusals = [
      await rejection(bound.verify(await sign(claims({ iss: "https://unknown.test" })), "subscribe")),
      await rejection(bound.verify(await sign(claims(), { kid: "guess" }), "subscribe")),
      await rejection(bound.verify(handmade({ alg: "HS512", typ: "at+jwt" }, claims(), SECRET), "subscribe")),
      await rejection(bound.verify(await sign(claims(), { typ: "JWT" }), "subscribe")),
      await rejection(
        bound.verify(await sign(claims(), {}, new TextEncoder().encode(`${SECRET}!`)), "subscribe"),
      ),
      await rejection(verifier({ keys: [] }).verify(await sign(claims()), "publish")),
    ]
    for (const refusal of refusals) {
      expect(secrets.filter((secret) => refusal.description.includes(secret))).toEqual([])
      // The operator still reads everything.
      expect(refusal.reason).not.toBe("")
    }
    expect(refusals[0]?.description).toBe(
      'no key this hub trusts verifies the token (alg "HS256", iss "https://unknown.test"); sign it with the key configured for its issuer, and check its "iss", "kid" and "alg"',
    )
    expect(refusals[0]?.description).not.toContain(ISSUER)
    expect(refusals[0]?.reason).toContain(`trusted issuers: "${ISSUER}"`)
    expect(refusals[1]?.reason).toContain(`(configured: "${KID}")`)
    expect(refusals[2]?.description).toBe(
      'algorithm "HS512" is not accepted by this hub; sign with one it accepts: HS256, PS512',
    )
    expect(refusals[2]?.reason).toContain("(allowed: HS256, PS512)")
  })

  it("a caller whose signature verified reads every reason", async () => {
    const refusal = await rejection(
      bound.verify(await sign(claims({ aud: "https://other.test" }), { kid: KID }), "subscribe"),
    )
    expect(refusal.description).toBe(refusal.reason)
    expect(refusal.description).toContain(RESOURCE)
  })
})

describe("token verification: legacy tokens and a configured issuer", () => {
  // Pre-standardization tokens never carried "iss": binding the keys to an issuer (--jwt-issuer)
  // must not lock out every deployed publisher.
  const legacyClaims = (extra: Record<string, unknown> = {}) => ({ mercure: { publish: ["*"] }, ...extra })
  const boundTo = (issuer: string, secret = SECRET): TrustedKey => ({ kind: "secret", secret, issuer })

  it("accepts a legacy token without iss signed with the key of the one configured issuer", async () => {
    const v = verifier({ keys: [boundTo(ISSUER)] })
    const grants = await v.verify(await sign(legacyClaims(), { typ: "JWT" }), "publish")
    expect(grants.can("hub", "publish", "https://example.com/a")).toBe(true)
    expect(grants.issuer).toBeUndefined()
  })

  it("still refuses a legacy token with a wrong iss, another key, or an aud for another hub", async () => {
    const v = verifier({ keys: [boundTo(ISSUER)] })
    await rejection(
      v.verify(await sign(legacyClaims({ iss: "https://wrong.test" }), { typ: "JWT" }), "publish"),
    )
    const otherKey = new TextEncoder().encode("another-secret-that-is-at-least-32-bytes!")
    await rejection(v.verify(await sign(legacyClaims(), { typ: "JWT" }, otherKey), "publish"))
    await rejection(
      v.verify(await sign(legacyClaims({ aud: "https://other.test/hub" }), { typ: "JWT" }), "publish"),
    )
    // Its own issuer, named, is fine.
    expect(
      (await v.verify(await sign(legacyClaims({ iss: ISSUER }), { typ: "JWT" }), "publish")).issuer,
    ).toBe(ISSUER)
  })

  it("refuses an iss-less token when legacy support is off, or when keys of several issuers could have signed it", async () => {
    const token = await sign(legacyClaims(), { typ: "JWT" })
    await rejection(verifier({ keys: [boundTo(ISSUER)], legacy: false }).verify(token, "publish"))
    const several = verifier({ keys: [boundTo(ISSUER), boundTo("https://other.test", `${SECRET}-other`)] })
    const refused = await rejection(several.verify(token, "publish"))
    expect(refused.reason).toMatch(/the keys are bound to several issuers/)
    // A draft-08 token must name its issuer whatever the keys.
    const { iss: _, ...draft } = claims()
    await rejection(verifier({ keys: [boundTo(ISSUER)] }).verify(await sign(draft), "subscribe"))
  })
})

describe("token verification: asymmetric keys", () => {
  async function pair(alg: "RS256" | "ES256" | "EdDSA" | "PS256") {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
    return { pem: await exportSPKI(publicKey), privateKey, publicKey }
  }

  for (const alg of ["RS256", "ES256", "EdDSA"] as const) {
    it(`verifies ${alg} with a PEM public key, and refuses another key's signature`, async () => {
      const { pem, privateKey } = await pair(alg)
      const v = verifier({ keys: [{ kind: "pem", pem, issuer: ISSUER }] })
      const token = await new SignJWT(claims()).setProtectedHeader({ alg, typ: "at+jwt" }).sign(privateKey)
      expect((await v.verify(token, "subscribe")).subject).toBe("user-1")
      const other = await pair(alg)
      const forged = await new SignJWT(claims())
        .setProtectedHeader({ alg, typ: "at+jwt" })
        .sign(other.privateKey)
      expect(await reason(v.verify(forged, "subscribe"))).toContain(
        `signature does not verify with the key configured for issuer "${ISSUER}"`,
      )
    })
  }

  it("verifies the fully-specified Ed25519 algorithm when allowed", async () => {
    const { publicKey, privateKey } = await generateKeyPair("Ed25519", { extractable: true })
    const v = verifier({
      keys: [{ kind: "pem", pem: await exportSPKI(publicKey) }],
      algorithms: ["Ed25519", "EdDSA"],
    })
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: "Ed25519", typ: "at+jwt" })
      .sign(privateKey)
    await expect(v.verify(token, "subscribe")).resolves.toBeTruthy()
    expect(
      await reason(
        verifier({ keys: [{ kind: "pem", pem: await exportSPKI(publicKey) }] }).verify(token, "subscribe"),
      ),
    ).toContain('algorithm "Ed25519" is not allowed')
  })

  it("imports a PEM once per algorithm it is used with (RS256 and PS256 on one RSA key)", async () => {
    const { pem, privateKey } = await pair("RS256")
    const pss = await importPKCS8(await (await import("jose")).exportPKCS8(privateKey), "PS256", {
      extractable: true,
    })
    const v = verifier({ keys: [{ kind: "pem", pem }], algorithms: ["RS256", "PS256"] })
    for (let round = 0; round < 2; round++) {
      await expect(
        v.verify(
          await new SignJWT(claims()).setProtectedHeader({ alg: "RS256", typ: "at+jwt" }).sign(privateKey),
          "subscribe",
        ),
      ).resolves.toBeTruthy()
      await expect(
        v.verify(
          await new SignJWT(claims()).setProtectedHeader({ alg: "PS256", typ: "at+jwt" }).sign(pss),
          "subscribe",
        ),
      ).resolves.toBeTruthy()
    }
  })

  it("refuses an ES384 token for a P-256 key and an EdDSA token for an EC key", async () => {
    const { pem } = await pair("ES256")
    const v = verifier({ keys: [{ kind: "pem", pem }], algorithms: ["ES256", "ES384", "EdDSA"] })
    const p384 = await generateKeyPair("ES384")
    const es384 = await new SignJWT(claims())
      .setProtectedHeader({ alg: "ES384", typ: "at+jwt" })
      .sign(p384.privateKey)
    expect(await reason(v.verify(es384, "subscribe"))).toBe(
      'algorithm "ES384" does not fit the key configured for subscribers: it is an EC public key on P-256, which takes ES256',
    )
    const ed = await generateKeyPair("EdDSA")
    const eddsa = await new SignJWT(claims())
      .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt" })
      .sign(ed.privateKey)
    expect(await reason(v.verify(eddsa, "subscribe"))).toContain(
      "an EC public key on P-256, which takes ES256",
    )
  })

  it("verifies with the public key of an X.509 certificate", async () => {
    const v = verifier({ keys: [{ kind: "pem", pem: CERTIFICATE }] })
    const privateKey = await importPKCS8(CERTIFICATE_KEY, "ES256")
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt" })
      .sign(privateKey)
    await expect(v.verify(token, "subscribe")).resolves.toBeTruthy()
  })
})

describe("JWK Set URLs", () => {
  it("are https, or http to a loopback host only", () => {
    const jwks = (url: string) => () => verifier({ keys: [{ kind: "jwks", url }] })
    expect(jwks("http://idp.example/jwks.json")).toThrow(
      "keys[0]: the JWK Set URL http://idp.example/jwks.json is plain http: keys must be fetched over https",
    )
    expect(jwks("http://10.0.0.1/jwks.json")).toThrow(/plain http/)
    expect(jwks("ftp://idp.example/jwks.json")).toThrow("the JWK Set URL must be https, got ftp:")
    for (const url of [
      "https://idp.example/jwks.json",
      "http://localhost:8081/jwks.json",
      "http://127.0.0.1:8081/jwks.json",
      "http://[::1]/jwks.json",
    ]) {
      expect(jwks(url)).not.toThrow()
    }
  })
})

describe("token verification: JWK Set over loopback", () => {
  let server: Server
  let base = ""
  let requests: string[] = []
  let jwks: unknown = { keys: [] }
  let rsa: { privateKey: CryptoKey; publicKey: CryptoKey }

  beforeAll(async () => {
    rsa = await generateKeyPair("RS256", { extractable: true })
    jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: "k1", alg: "RS256", use: "sig" }] }
    server = createServer((req, res) => {
      requests.push(req.url ?? "")
      if (req.url === "/broken") {
        res.writeHead(500).end()
        return
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(jwks))
    })
    server.listen(0, "127.0.0.1")
    await once(server, "listening")
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  afterAll(() => {
    server.closeAllConnections()
    server.close()
  })

  const rs256 = (header: Record<string, unknown> = {}, payload = claims(), key?: CryptoKey) =>
    new SignJWT(payload)
      .setProtectedHeader({ alg: "RS256", typ: "at+jwt", ...header })
      .sign(key ?? rsa.privateKey)

  it("fetches the set once and verifies tokens by kid", async () => {
    requests = []
    const v = verifier({ keys: [{ kind: "jwks", url: `${base}/jwks.json`, issuer: ISSUER }] })
    await expect(v.verify(await rs256({ kid: "k1" }), "subscribe")).resolves.toBeTruthy()
    await expect(v.verify(await rs256({ kid: "k1" }), "publish")).resolves.toBeTruthy()
    expect(requests).toEqual(["/jwks.json"])
  })

  it("names the missing kid, and refuses another key's signature", async () => {
    const v = verifier({
      keys: [{ kind: "jwks", url: `${base}/jwks.json`, issuer: ISSUER }],
      jwks: { cooldownMs: 0 },
    })
    expect(await reason(v.verify(await rs256({ kid: "k9" }), "subscribe"))).toBe(
      `the signature does not verify with the key configured for issuer "${ISSUER}" (the JWK Set at ${base}/jwks.json has no RS256 key with kid "k9"); sign with the matching key`,
    )
    const other = await generateKeyPair("RS256")
    expect(
      await reason(v.verify(await rs256({ kid: "k1" }, claims(), other.privateKey), "subscribe")),
    ).toContain("signature does not verify")
  })

  it("refuses HS256 for a JWK Set", async () => {
    const v = verifier({ keys: [{ kind: "jwks", url: `${base}/jwks.json` }] })
    expect(await reason(v.verify(await sign(claims()), "subscribe"))).toContain(
      "it is a JWK Set (asymmetric keys only); HS256 needs a shared secret",
    )
  })

  it("reports a set that cannot be fetched", async () => {
    const v = verifier({ keys: [{ kind: "jwks", url: `${base}/broken` }] })
    const refusal = await rejection(v.verify(await rs256({ kid: "k1" }), "subscribe"))
    expect(refusal.reason).toContain(
      `the signature could not be checked for subscribers: could not use the JWK Set at ${base}/broken: Expected 200 OK`,
    )
    // The client learns that the keys are unavailable, not where the hub fetches them.
    expect(refusal.description).not.toContain(base)
    expect(refusal.description).toMatch(/retry later/)
  })

  it("ignores jku and jwk headers: the token never brings its own key", async () => {
    requests = []
    const attacker = await generateKeyPair("RS256", { extractable: true })
    const attackerJwk = await exportJWK(attacker.publicKey)
    // The hub trusts only SECRET; the token points at a key it brings itself.
    const v = verifier()
    for (const header of [
      { jku: `${base}/attacker.json`, kid: "k1" },
      { jwk: attackerJwk },
      { x5u: `${base}/attacker.pem` },
    ]) {
      const forged = await rs256(header, claims(), attacker.privateKey)
      expect(await reason(v.verify(forged, "subscribe"))).toContain(
        "does not fit the key configured for subscribers",
      )
    }
    // Same with a JWK Set configured: only the configured URL is fetched, and the attacker key fails.
    const withSet = verifier({ keys: [{ kind: "jwks", url: `${base}/jwks.json` }] })
    const forged = await rs256(
      { jku: `${base}/attacker.json`, jwk: attackerJwk, kid: "k1" },
      claims(),
      attacker.privateKey,
    )
    expect(await reason(withSet.verify(forged, "subscribe"))).toContain("signature does not verify")
    expect(requests.filter((url) => url.startsWith("/attacker"))).toEqual([])
  })
})

// A self-signed P-256 certificate and its key (openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256).
const CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIBgjCCASmgAwIBAgIUOOlwPE/CiuoiyqP9Wrq0MfXY0r8wCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLaGVyYWxkLXRlc3QwIBcNMjYxMTIxMDczNjI2WhgPMjEyNjEw
MjgwNzM2MjZaMBYxFDASBgNVBAMMC2hlcmFsZC10ZXN0MFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEmfLlMY1CmCCrXnzadM+RcZyXckCaeuGuYIhb7l+jj2lS7Lqh
9KKohsfkSht3e9O1L82EFHEfssYWEsJsed8wZ6NTMFEwHQYDVR0OBBYEFCHu7ogq
R7uHvndFmANe3chKMynNMB8GA1UdIwQYMBaAFCHu7ogqR7uHvndFmANe3chKMynN
MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgQ5aJPfmJgdUfxP93
p6yjAwmpR7q8qLA6rC/pSGXmPgMCIC3BmgfSXeer1rqvyCZxp/JC1vkc+G0sO3z5
26LD+nxA
-----END CERTIFICATE-----`
const CERTIFICATE_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgzdogSk0lgA+xdj88
WYItROehAMWtCQiedbswaad9bnehRANCAASZ8uUxjUKYIKtefNp0z5FxnJdyQJp6
4a5giFvuX6OPaVLsuqH0oqiGx+RKG3d707UvzYQUcR+yxhYSwmx53zBn
-----END PRIVATE KEY-----`
