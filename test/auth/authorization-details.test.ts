import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose"
import { describe, expect, it } from "vitest"
import { createDevTokens, signAccessToken } from "../../src/auth/dev-tokens.js"
import { AuthError } from "../../src/auth/errors.js"
import { ANONYMOUS } from "../../src/auth/grants.js"
import { createTokenVerifier, type VerifierOptions } from "../../src/auth/verifier.js"

const RESOURCE = "https://hub.test/.well-known/mercure"
const ISSUER = "https://app.test"
const SECRET = "a-test-secret-that-is-at-least-32-bytes-long!"
const DETAIL = "https://mercure.rocks/authorization-detail"
const key = new TextEncoder().encode(SECRET)
const now = () => Math.floor(Date.now() / 1000)

function verifier(options: Partial<VerifierOptions> = {}) {
  return createTokenVerifier({
    keys: [{ kind: "secret", secret: SECRET }],
    resource: RESOURCE,
    matcherContext: { hubUrl: new URL(RESOURCE) },
    ...options,
  })
}

/** A draft-08 token carrying `details` as its authorization_details. */
function withDetails(details: unknown, extra: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({
    iss: ISSUER,
    aud: RESOURCE,
    sub: "s",
    exp: now() + 600,
    authorization_details: details,
    ...extra,
  })
    .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
    .sign(key)
}

/** A pre-standardization token: typ JWT, the `mercure` claim, no iss/aud/exp unless given. */
function legacyToken(mercure: unknown, extra: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ mercure, ...extra }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key)
}

const detail = (actions: unknown, topics: unknown, more: Record<string, unknown> = {}) => ({
  type: DETAIL,
  actions,
  topics,
  ...more,
})

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(AuthError)
    expect((error as AuthError).code).toBe("invalid_token")
    return (error as AuthError).description
  }
  throw new Error("expected the token to be refused")
}

describe("authorization details", () => {
  it("grants an action on the topics its matchers match, exact by default", async () => {
    const token = await withDetails([
      detail(
        ["subscribe"],
        [
          { match: "https://example.com/books/1" },
          { match: "https://example.com/books/7", match_type: "exact" },
        ],
      ),
    ])
    const grants = await verifier().verify(token, "subscribe")
    expect(grants.can("hub", "subscribe", "https://example.com/books/1")).toBe(true)
    expect(grants.can("hub", "subscribe", "https://example.com/books/7")).toBe(true)
    expect(grants.can("hub", "subscribe", "https://example.com/books/2")).toBe(false)
    expect(grants.can("hub", "subscribe", "https://example.com/books/10")).toBe(false)
  })

  it("grants through URL patterns and the * wildcard", async () => {
    const token = await withDetails([
      detail(["subscribe"], [{ match: "https://example.com/users/42/*", match_type: "urlpattern" }]),
      detail(["publish"], [{ match: "*", match_type: "urlpattern" }]),
    ])
    const subscriber = await verifier().verify(token, "subscribe")
    expect(subscriber.can("hub", "subscribe", "https://example.com/users/42/books/1")).toBe(true)
    expect(subscriber.can("hub", "subscribe", "https://example.com/users/43/books/1")).toBe(false)
    const publisher = await verifier().verify(token, "publish")
    expect(publisher.can("hub", "publish", "urn:anything")).toBe(true)
  })

  it("grants nothing without a Mercure detail, and ignores other detail types", async () => {
    const none = await verifier().verify(await withDetails(undefined), "subscribe")
    expect(none.can("hub", "subscribe", "x")).toBe(false)
    const other = await withDetails([
      { type: "https://bank.example/payment", actions: [1, 2], topics: "not even an array" },
      detail(["subscribe"], [{ match: "x" }]),
    ])
    const grants = await verifier().verify(other, "subscribe")
    expect(grants.can("hub", "subscribe", "x")).toBe(true)
    expect(grants.can("hub", "subscribe", "y")).toBe(false)
  })

  it("ignores unknown actions, which grant nothing and do not invalidate the token", async () => {
    const token = await withDetails([
      detail(["read", "subscribe"], [{ match: "a" }]),
      detail(["admin"], [{ match: "*" }]),
    ])
    const grants = await verifier().verify(token, "subscribe")
    expect(grants.can("hub", "subscribe", "a")).toBe(true)
    expect(grants.can("hub", "subscribe", "b")).toBe(false)
  })

  it("rejects the whole token for any malformed Mercure detail", async () => {
    const good = detail(["subscribe"], [{ match: "*" }])
    const cases: [unknown, string][] = [
      [{ type: DETAIL }, '"authorization_details" is an object, expected an array'],
      [[good, "x"], 'authorization_details[1] is the string "x", expected an object'],
      [[{ actions: ["subscribe"] }], 'authorization_details[0] has no string "type"'],
      [
        [detail(["subscribe", 7], [{ match: "a" }])],
        "authorization_details[0].actions[1] is number 7, expected a string",
      ],
      [[detail([], [{ match: "a" }])], "authorization_details[0].actions is an empty array"],
      [[detail("subscribe", [{ match: "a" }])], 'actions is the string "subscribe"'],
      [[detail(["subscribe"], undefined)], "authorization_details[0].topics is missing"],
      [[detail(["subscribe"], [])], "topics is an empty array"],
      [
        [good, detail(["subscribe"], ["a"])],
        'authorization_details[1].topics[0] is the string "a", expected an object',
      ],
      [[detail(["subscribe"], [{ match: 1 }])], "topics[0].match is number 1, expected a string"],
      [[detail(["subscribe"], [{ match: "a", match_type: 3 }])], "match_type is number 3"],
      [
        [detail(["subscribe"], [{ match: "a", match_type: "regex" }])],
        'authorization_details[0].topics[0].match_type "regex" is not supported (supported: exact, urlpattern)',
      ],
      // Case-sensitive: "match_type is case-sensitive".
      [
        [detail(["subscribe"], [{ match: "a", match_type: "URLPattern" }])],
        'match_type "URLPattern" is not supported',
      ],
      [
        [detail(["subscribe"], [{ match: "a" }], { payload: ["x"] })],
        "payload is an array, expected a JSON object",
      ],
      [[detail(["subscribe"], [{ match: "a" }], { payload: null })], "payload is null"],
    ]
    for (const [details, expected] of cases) {
      expect(await reason(verifier().verify(await withDetails(details), "subscribe"))).toContain(expected)
    }
  })

  it("rejects a matcher the matcher compiler refuses, naming where it is", async () => {
    const token = await withDetails([
      detail(["subscribe"], [{ match: "https://example.com/(", match_type: "urlpattern" }]),
    ])
    expect(await reason(verifier().verify(token, "subscribe"))).toMatch(
      /^authorization_details\[0\]\.topics\[0\]: /,
    )
    const control = await withDetails([detail(["subscribe"], [{ match: "a\u0001b" }])])
    expect(await reason(verifier().verify(control, "subscribe"))).toMatch(
      /^authorization_details\[0\]\.topics\[0\]: /,
    )
  })

  it("bounds the number of details and of topics per detail", async () => {
    const many = Array.from({ length: 33 }, (_, i) => detail(["subscribe"], [{ match: `t${i}` }]))
    expect(await reason(verifier().verify(await withDetails(many), "subscribe"))).toContain(
      "more than 32 Mercure authorization details",
    )
    await expect(verifier().verify(await withDetails(many.slice(0, 32)), "subscribe")).resolves.toBeTruthy()
    expect(
      await reason(verifier({ maxDetails: 2 }).verify(await withDetails(many.slice(0, 3)), "subscribe")),
    ).toContain("more than 2")
    // Other types do not count.
    const others = Array.from({ length: 40 }, () => ({ type: "urn:other" }))
    await expect(verifier().verify(await withDetails(others), "subscribe")).resolves.toBeTruthy()
    const topics = Array.from({ length: 65 }, (_, i) => ({ match: `t${i}` }))
    expect(
      await reason(verifier().verify(await withDetails([detail(["subscribe"], topics)]), "subscribe")),
    ).toContain("topics has 65 entries, more than the hub's limit of 64")
    await expect(
      verifier().verify(await withDetails([detail(["subscribe"], topics.slice(0, 64))]), "subscribe"),
    ).resolves.toBeTruthy()
  })

  it("bounds pattern length through the matcher context", async () => {
    const long = `https://example.com/${"a".repeat(100)}`
    const token = await withDetails([detail(["subscribe"], [{ match: long }])])
    await expect(verifier().verify(token, "subscribe")).resolves.toBeTruthy()
    await reason(
      verifier({ matcherContext: { hubUrl: new URL(RESOURCE), maxPatternLength: 50 } }).verify(
        token,
        "subscribe",
      ),
    )
  })
})

describe("payloads", () => {
  // draft-08 "Payloads" example.
  const details = [
    detail(["subscribe"], [{ match: "https://example.com/foo" }], { payload: { custom1: "foo" } }),
    detail(["subscribe"], [{ match: "https://example.com/bar/:id", match_type: "urlpattern" }], {
      payload: { custom2: "bar" },
    }),
    detail(["publish"], [{ match: "https://example.com/baz" }], { payload: { never: "publish detail" } }),
    detail(["subscribe"], [{ match: "https://example.com/plain" }]),
    detail(["subscribe"], [{ match: "*" }], { payload: { custom3: "default" } }),
  ]

  it("takes the first subscribe detail whose topics match the subscription's matcher string", async () => {
    const grants = await verifier().verify(await withDetails(details), "subscribe")
    expect(grants.payloadFor("https://example.com/foo")).toEqual({ custom1: "foo" })
    // The urlpattern matcher string itself, treated as a topic.
    expect(grants.payloadFor("https://example.com/bar/:id")).toEqual({ custom2: "bar" })
    expect(grants.payloadFor("https://example.com/bar/1")).toEqual({ custom2: "bar" })
    // A publish detail never supplies a subscription payload.
    expect(grants.payloadFor("https://example.com/baz")).toEqual({ custom3: "default" })
    // The first match wins, even without a payload of its own.
    expect(grants.payloadFor("https://example.com/plain")).toBeUndefined()
    expect(grants.payloadFor("urn:other")).toEqual({ custom3: "default" })
  })

  it("is order-dependent: a broad matcher first masks the specific ones", async () => {
    const reordered = [details[4], ...details.slice(0, 4)]
    const grants = await verifier().verify(await withDetails(reordered), "subscribe")
    expect(grants.payloadFor("https://example.com/foo")).toEqual({ custom3: "default" })
  })

  it("returns nothing when no subscribe detail matches", async () => {
    const grants = await verifier().verify(await withDetails(details.slice(0, 2)), "subscribe")
    expect(grants.payloadFor("urn:other")).toBeUndefined()
  })
})

describe("legacy mercure claim", () => {
  it("grants publish and subscribe selectors: exact, URI templates and *", async () => {
    const token = await legacyToken({
      publish: ["https://example.com/books/{id}"],
      subscribe: ["https://example.com/users/42", "https://example.com/rooms/{room}/messages"],
    })
    const publisher = await verifier().verify(token, "publish")
    expect(publisher.can("hub", "publish", "https://example.com/books/1")).toBe(true)
    expect(publisher.can("hub", "publish", "https://example.com/authors/1")).toBe(false)
    const subscriber = await verifier().verify(token, "subscribe")
    expect(subscriber.can("hub", "subscribe", "https://example.com/users/42")).toBe(true)
    expect(subscriber.can("hub", "subscribe", "https://example.com/users/43")).toBe(false)
    expect(subscriber.can("hub", "subscribe", "https://example.com/rooms/7/messages")).toBe(true)
    expect(subscriber.can("hub", "subscribe", "https://example.com/books/1")).toBe(false)
    expect(subscriber.expiresAt).toBeUndefined()
    expect(subscriber.issuer).toBeUndefined()
    const everything = await verifier().verify(await legacyToken({ publish: ["*"] }), "publish")
    expect(everything.can("hub", "publish", "urn:x")).toBe(true)
  })

  it("attaches mercure.payload to every subscription", async () => {
    const token = await legacyToken({ subscribe: ["a"], payload: { user: "https://example.com/users/42" } })
    const grants = await verifier().verify(token, "subscribe")
    expect(grants.payloadFor("a")).toEqual({ user: "https://example.com/users/42" })
    expect(grants.payloadFor("b")).toEqual({ user: "https://example.com/users/42" })
  })

  it("accepts any typ, but enforces exp and nbf when present", async () => {
    await expect(
      verifier().verify(await legacyToken({ subscribe: ["*"] }), "subscribe"),
    ).resolves.toBeTruthy()
    const exp = now() - 60
    expect(
      await reason(verifier().verify(await legacyToken({ subscribe: ["*"] }, { exp }), "subscribe")),
    ).toContain("the token expired at")
    const valid = await verifier().verify(
      await legacyToken({ subscribe: ["*"] }, { exp: now() + 60 }),
      "subscribe",
    )
    expect(valid.expiresAt).toBeGreaterThan(Date.now())
    await reason(
      verifier().verify(await legacyToken({ subscribe: ["*"] }, { nbf: now() + 3600 }), "subscribe"),
    )
  })

  it("checks aud only when present", async () => {
    await expect(
      verifier().verify(await legacyToken({ subscribe: ["*"] }, { aud: [RESOURCE] }), "subscribe"),
    ).resolves.toBeTruthy()
    expect(
      await reason(
        verifier().verify(
          await legacyToken({ subscribe: ["*"] }, { aud: "https://other.test" }),
          "subscribe",
        ),
      ),
    ).toContain('"aud" does not contain')
  })

  it("still verifies the signature, the algorithm and a bound issuer", async () => {
    const other = new TextEncoder().encode("another-secret-of-at-least-32-bytes!!")
    const forged = await new SignJWT({ mercure: { publish: ["*"] } })
      .setProtectedHeader({ alg: "HS256" })
      .sign(other)
    expect(await reason(verifier().verify(forged, "publish"))).toContain(
      "no key this hub trusts verifies the token",
    )
    // Keys bound to one issuer (--jwt-issuer) verify its legacy tokens, with or without "iss".
    const bound = verifier({ keys: [{ kind: "secret", secret: SECRET, issuer: ISSUER }] })
    await expect(bound.verify(await legacyToken({ publish: ["*"] }), "publish")).resolves.toBeTruthy()
    await expect(
      bound.verify(await legacyToken({ publish: ["*"] }, { iss: ISSUER }), "publish"),
    ).resolves.toBeTruthy()
    expect(await reason(bound.verify(forged, "publish"))).toContain(
      "no key this hub trusts verifies the token",
    )
  })

  it("is refused when legacy support is off", async () => {
    const token = await legacyToken({ subscribe: ["*"] })
    expect(await reason(verifier({ legacy: false }).verify(token, "subscribe"))).toContain('"typ" is "JWT"')
    // An at+jwt token with only the legacy claim follows draft-08's rules and grants nothing.
    const typed = await new SignJWT({
      iss: ISSUER,
      aud: RESOURCE,
      exp: now() + 60,
      mercure: { subscribe: ["*"] },
    })
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
      .sign(key)
    expect((await verifier({ legacy: false }).verify(typed, "subscribe")).can("hub", "subscribe", "x")).toBe(
      false,
    )
  })

  it("holds a token with Mercure authorization details to draft-08 rules, ignoring its mercure claim", async () => {
    const both = await new SignJWT({
      mercure: { subscribe: ["*"] },
      authorization_details: [detail(["subscribe"], [{ match: "a" }])],
    })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(key)
    expect(await reason(verifier().verify(both, "subscribe"))).toContain('"typ" is "JWT"')
    const draft = await withDetails([detail(["subscribe"], [{ match: "a" }])], {
      mercure: { subscribe: ["*"] },
    })
    const grants = await verifier().verify(draft, "subscribe")
    expect(grants.can("hub", "subscribe", "a")).toBe(true)
    expect(grants.can("hub", "subscribe", "b")).toBe(false)
  })

  it("rejects a malformed claim", async () => {
    const cases: [unknown, string][] = [
      ["everything", 'the "mercure" claim is the string "everything", expected an object'],
      [{ subscribe: "*" }, 'mercure.subscribe is the string "*", expected an array'],
      [{ publish: ["a", 1] }, "mercure.publish[1] is number 1, expected a string"],
      [{ subscribe: Array.from({ length: 65 }, (_, i) => `t${i}`) }, "more than the hub's limit of 64"],
      [{ subscribe: ["https://example.com/{"] }, 'mercure.subscribe[0] "https://example.com/{":'],
    ]
    for (const [claim, expected] of cases) {
      expect(await reason(verifier().verify(await legacyToken(claim), "subscribe"))).toContain(expected)
    }
    // null means "nothing" in pre-standardization tokens.
    const grants = await verifier().verify(
      await legacyToken({ publish: null, subscribe: ["a"] }),
      "subscribe",
    )
    expect(grants.can("hub", "subscribe", "a")).toBe(true)
  })
})

describe("anonymous grants", () => {
  it("grant nothing", () => {
    expect(ANONYMOUS.anonymous).toBe(true)
    expect(ANONYMOUS.can("hub", "subscribe", "*")).toBe(false)
    expect(ANONYMOUS.can("hub", "publish", "x")).toBe(false)
    expect(ANONYMOUS.payloadFor("*")).toBeUndefined()
    expect([ANONYMOUS.issuer, ANONYMOUS.subject, ANONYMOUS.expiresAt]).toEqual([
      undefined,
      undefined,
      undefined,
    ])
  })
})

describe("dev tokens", () => {
  it("issue an at+jwt publisher and subscriber token the verifier accepts", async () => {
    const tokens = await createDevTokens({ secret: SECRET, resource: RESOURCE, issuer: ISSUER, ttlSec: 120 })
    for (const token of [tokens.publisher, tokens.subscriber]) {
      expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "at+jwt" })
      const claims = decodeJwt(token)
      expect(claims.iss).toBe(ISSUER)
      expect(claims.aud).toBe(RESOURCE)
      expect(claims.client_id).toBe(ISSUER)
      expect(typeof claims.sub).toBe("string")
      expect(claims.jti).toMatch(/^urn:uuid:[0-9a-f-]{36}$/)
      expect(claims.exp).toBe((claims.iat ?? 0) + 120)
      expect(tokens.expiresAt).toBe((claims.exp ?? 0) * 1000)
    }
    expect(decodeJwt(tokens.publisher).jti).not.toBe(decodeJwt(tokens.subscriber).jti)
    const bound = verifier({ keys: [{ kind: "secret", secret: SECRET, issuer: ISSUER }], legacy: false })
    const publisher = await bound.verify(tokens.publisher, "publish")
    expect(publisher.can("hub", "publish", "https://example.com/anything")).toBe(true)
    expect((await bound.verify(tokens.publisher, "subscribe")).can("hub", "subscribe", "x")).toBe(false)
    const subscriber = await bound.verify(tokens.subscriber, "subscribe")
    expect(subscriber.can("hub", "subscribe", "https://example.com/anything")).toBe(true)
    expect((await bound.verify(tokens.subscriber, "publish")).can("hub", "publish", "x")).toBe(false)
  })

  it("refuse a secret shorter than 32 bytes", async () => {
    await expect(createDevTokens({ secret: "short", resource: RESOURCE, issuer: ISSUER })).rejects.toThrow(
      /at least 32/,
    )
    await expect(
      signAccessToken({
        secret: SECRET,
        resource: RESOURCE,
        issuer: ISSUER,
        subject: "s",
        details: [],
        ttlSec: 0,
      }),
    ).rejects.toThrow(/ttlSec/)
  })
})
