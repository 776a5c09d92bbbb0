import { SignJWT } from "jose"
import { describe, expect, it } from "vitest"
import { parseAuthorizationDetails } from "../../src/auth/authorization-details.js"
import { AuthError } from "../../src/auth/errors.js"
import { type App, createGrants, LOCAL_DEV_CLIENT } from "../../src/auth/grants.js"
import { HERALD_GRANT_TYPE } from "../../src/auth/herald-grant.js"
import { createTokenVerifier } from "../../src/auth/verifier.js"

const RESOURCE = "https://hub.test/.well-known/mercure"
const SECRET = "a-test-secret-that-is-at-least-32-bytes-long!"
const MERCURE = "https://mercure.rocks/authorization-detail"
const context = { hubUrl: new URL(RESOURCE) }
const limits = { maxDetails: 32, maxTopicsPerDetail: 64 }

const grant = (app: unknown, actions: unknown, resources: unknown) => ({
  type: HERALD_GRANT_TYPE,
  app,
  actions,
  resources,
})

/** The grants of `details` as a non-hub verifier would make them: no role, subject `alice`. */
function grantsOf(details: unknown, subject: string | undefined = "alice") {
  return createGrants(parseAuthorizationDetails(details, limits, context), {
    issuer: "https://app.test",
    subject,
    expiresAt: undefined,
  })
}

function refusal(details: unknown): string {
  try {
    parseAuthorizationDetails(details, limits, context)
  } catch (error) {
    expect(error).toBeInstanceOf(AuthError)
    expect((error as AuthError).status).toBe(401)
    expect((error as AuthError).code).toBe("invalid_token")
    return (error as AuthError).description
  }
  throw new Error("expected the details to be refused")
}

describe("Herald grants", () => {
  it("grant their actions on the resources of their own app only", () => {
    const grants = grantsOf([
      grant("streams", ["read", "append"], [{ match: "/v1/stream/chat/*", match_type: "urlpattern" }]),
    ])
    expect(grants.can("streams", "read", "/v1/stream/chat/42")).toBe(true)
    expect(grants.can("streams", "append", "/v1/stream/chat/42")).toBe(true)
    expect(grants.can("streams", "delete", "/v1/stream/chat/42")).toBe(false)
    expect(grants.can("streams", "read", "/v1/stream/other/1")).toBe(false)
    // The same string in another app's namespace is another resource.
    expect(grants.can("ai", "read", "/v1/stream/chat/42")).toBe(false)
    expect(grants.can("hub", "subscribe", "/v1/stream/chat/42")).toBe(false)
  })

  it("keep unknown actions, which grant nothing an app asks about", () => {
    const grants = grantsOf([grant("ai", ["generate", "teleport"], [{ match: "*" }])])
    expect(grants.can("ai", "generate", "/v1/generations/g1")).toBe(true)
    expect(grants.can("ai", "cancel", "/v1/generations/g1")).toBe(false)
  })

  it("are ignored beside unknown detail types, and counted apart from Mercure details", () => {
    const mercure = Array.from({ length: 32 }, (_, i) => ({
      type: MERCURE,
      actions: ["subscribe"],
      topics: [{ match: `t${i}` }],
    }))
    const grants = grantsOf([
      { type: "urn:other", app: 7 },
      ...mercure,
      grant("hub", ["publish"], [{ match: "t1" }]),
    ])
    expect(grants.can("hub", "publish", "t1")).toBe(true)
    expect(grants.can("hub", "subscribe", "t31")).toBe(true)
  })

  it("refuse the token when malformed, naming the member", () => {
    const cases: [unknown, string][] = [
      [
        [grant("stream", ["read"], [{ match: "*" }])],
        'authorization_details[0].app is "stream", expected one of "hub", "streams", "ai", "admin"',
      ],
      [
        [grant(undefined, ["read"], [{ match: "*" }])],
        "authorization_details[0].app is missing, expected one of",
      ],
      [[grant("ai", [], [{ match: "*" }])], "authorization_details[0].actions is an empty array"],
      [
        [grant("ai", ["read", 1], [{ match: "*" }])],
        "authorization_details[0].actions[1] is number 1, expected a string",
      ],
      [[grant("ai", ["read"], undefined)], "authorization_details[0].resources is missing"],
      [
        [grant("ai", ["read"], ["x"])],
        'authorization_details[0].resources[0] is the string "x", expected an object',
      ],
      [
        [grant("ai", ["read"], [{ match: "x", match_type: "regex" }])],
        'authorization_details[0].resources[0].match_type "regex" is not supported',
      ],
      [[grant("ai", ["read"], [{ match: "a\u0001b" }])], "authorization_details[0].resources[0]: "],
    ]
    for (const [details, expected] of cases) expect(refusal(details)).toContain(expected)
  })

  it("are bounded like Mercure details: per token and per grant", () => {
    const many = Array.from({ length: 33 }, () => grant("ai", ["read"], [{ match: "*" }]))
    expect(refusal(many)).toContain("more than 32 Herald grants")
    expect(() => grantsOf(many.slice(0, 32))).not.toThrow()
    const resources = Array.from({ length: 65 }, (_, i) => ({ match: `/v1/generations/g${i}` }))
    expect(refusal([grant("ai", ["read"], resources)])).toContain(
      "resources has 65 entries, more than the hub's limit of 64",
    )
  })
})

describe("ownership", () => {
  const reader = grantsOf([
    grant("streams", ["create", "read"], [{ match: "/v1/stream/alice/*", match_type: "urlpattern" }]),
  ])

  it("lets the creator use, on what it created, an action it holds somewhere in the app", () => {
    expect(reader.can("streams", "read", "/v1/stream/shared/1", { owner: "alice" })).toBe(true)
  })

  it("grants no action the token does not hold, even to the owner", () => {
    expect(reader.can("streams", "delete", "/v1/stream/shared/1", { owner: "alice" })).toBe(false)
    expect(reader.can("ai", "read", "/v1/generations/g1", { owner: "alice" })).toBe(false)
  })

  it("needs an explicit grant for another subject's resource", () => {
    expect(reader.can("streams", "read", "/v1/stream/shared/1", { owner: "bob" })).toBe(false)
    expect(reader.can("streams", "read", "/v1/stream/alice/1", { owner: "bob" })).toBe(true)
  })

  it("owns nothing without a subject", () => {
    const anonymousSubject = grantsOf([grant("streams", ["read"], [{ match: "/v1/stream/x" }])], undefined)
    expect(anonymousSubject.can("streams", "read", "/v1/stream/y", { owner: undefined })).toBe(false)
  })
})

describe("admin", () => {
  it("on an app allows every action on its resources, whoever owns them", () => {
    const grants = grantsOf([
      grant("ai", ["admin"], [{ match: "/v1/generations/*", match_type: "urlpattern" }]),
    ])
    for (const action of ["generate", "read", "cancel", "anything"]) {
      expect(grants.can("ai", action, "/v1/generations/g1", { owner: "bob" })).toBe(true)
    }
    expect(grants.can("streams", "read", "/v1/stream/x")).toBe(false)
  })

  it("on every resource of the admin app allows everything on every app", () => {
    const grants = grantsOf([grant("admin", ["admin"], [{ match: "*" }])])
    const everywhere: [App, string, string][] = [
      ["hub", "publish", "urn:t"],
      ["streams", "delete", "/v1/stream/x"],
      ["ai", "cancel", "/v1/generations/g"],
      ["admin", "admin", "anything"],
    ]
    for (const [app, action, resource] of everywhere) expect(grants.can(app, action, resource)).toBe(true)
    const narrow = grantsOf([grant("admin", ["admin"], [{ match: "/dashboard" }])])
    expect(narrow.can("hub", "publish", "urn:t")).toBe(false)
  })

  it("is what a local client has in dev mode, on every app", () => {
    for (const app of ["hub", "streams", "ai", "admin"] as const) {
      expect(LOCAL_DEV_CLIENT.can(app, "admin", "x", { owner: "someone" })).toBe(true)
      expect(LOCAL_DEV_CLIENT.can(app, "delete", "x")).toBe(true)
    }
  })
})

describe("the hub's roles with Herald grants", () => {
  const key = new TextEncoder().encode(SECRET)
  const verifier = createTokenVerifier({
    keys: [{ kind: "secret", secret: SECRET }],
    resource: RESOURCE,
    matcherContext: context,
  })
  const token = (details: unknown) =>
    new SignJWT({ iss: "https://app.test", aud: RESOURCE, sub: "alice", authorization_details: details })
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
      .setExpirationTime("10m")
      .sign(key)

  it("publish and subscribe on topics through a Herald grant of the hub", async () => {
    const signed = await token([grant("hub", ["publish", "subscribe"], [{ match: "urn:t" }])])
    expect((await verifier.verify(signed, "publish")).can("hub", "publish", "urn:t")).toBe(true)
    expect((await verifier.verify(signed, "subscribe")).can("hub", "subscribe", "urn:t")).toBe(true)
    expect((await verifier.verify(signed, "subscribe")).can("hub", "subscribe", "urn:u")).toBe(false)
  })

  it("never let a token validated by the subscriber keys publish, even as admin or superuser", async () => {
    const signed = await token([
      grant("hub", ["publish", "admin"], [{ match: "*" }]),
      grant("admin", ["admin"], [{ match: "*" }]),
    ])
    const subscriber = await verifier.verify(signed, "subscribe")
    expect(subscriber.can("hub", "publish", "urn:t")).toBe(false)
    expect(subscriber.can("hub", "subscribe", "urn:t")).toBe(true)
    const publisher = await verifier.verify(signed, "publish")
    expect(publisher.can("hub", "subscribe", "urn:t")).toBe(false)
  })

  it("take no subscription payload from a Herald grant: payloads are Mercure's", async () => {
    const signed = await token([
      grant("hub", ["subscribe"], [{ match: "*" }]),
      { type: MERCURE, actions: ["subscribe"], topics: [{ match: "*" }], payload: { user: "alice" } },
    ])
    expect((await verifier.verify(signed, "subscribe")).payloadFor("urn:t")).toEqual({ user: "alice" })
  })

  it("make a token with a mercure claim and a Herald grant a draft-08 token", async () => {
    const signed = await new SignJWT({
      mercure: { subscribe: ["*"] },
      authorization_details: [grant("hub", ["subscribe"], [{ match: "a" }])],
    })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(key)
    await expect(verifier.verify(signed, "subscribe")).rejects.toThrow(AuthError)
  })
})
