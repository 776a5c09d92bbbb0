import { describe, expect, it } from "vitest"
import { readCookie } from "../../src/auth/cookies.js"
import { AuthError } from "../../src/auth/errors.js"
import { findToken } from "../../src/auth/presentation.js"

const hub = "https://hub.test/.well-known/mercure"
const url = (query = "") => new URL(`${hub}${query}`)

/** The AuthError `fn` throws. */
function thrown(fn: () => unknown): AuthError {
  try {
    fn()
  } catch (error) {
    if (error instanceof AuthError) return error
    throw error
  }
  throw new Error("expected an AuthError")
}

describe("readCookie", () => {
  it("finds a cookie among several, with or without spaces", () => {
    expect(readCookie("a=1; b=2;c=3", "b")).toBe("2")
    expect(readCookie("a=1; b=2;c=3", "c")).toBe("3")
    expect(readCookie("  a = 1 ", "a")).toBe("1")
  })

  it("unwraps quoted values and keeps '=' inside values", () => {
    expect(readCookie('t="abc.def"', "t")).toBe("abc.def")
    expect(readCookie("t=abc==; u=1", "t")).toBe("abc==")
    expect(readCookie('t="', "t")).toBe('"')
  })

  it("returns the first occurrence, skips pairs without '=', and misses absent names", () => {
    expect(readCookie("t=first; t=second", "t")).toBe("first")
    expect(readCookie("garbage; t=ok", "t")).toBe("ok")
    expect(readCookie("tt=1; xt=2", "t")).toBeUndefined()
    expect(readCookie(undefined, "t")).toBeUndefined()
    expect(readCookie("", "t")).toBeUndefined()
  })
})

describe("findToken", () => {
  it("reads a Bearer header, scheme case-insensitive", () => {
    expect(findToken({ authorization: "Bearer a.b.c" }, url())).toEqual({ token: "a.b.c", source: "header" })
    expect(findToken({ authorization: "bearer a.b.c" }, url())).toEqual({ token: "a.b.c", source: "header" })
    expect(findToken({ authorization: "BEARER   a.b-_c=" }, url())).toEqual({
      token: "a.b-_c=",
      source: "header",
    })
  })

  it("returns undefined when nothing is presented", () => {
    expect(findToken({}, url())).toBeUndefined()
    expect(findToken({ cookie: "other=1" }, url())).toBeUndefined()
    expect(findToken({ cookie: "mercureAuthorization=" }, url())).toBeUndefined()
  })

  it("lets the header win over a cookie (draft-08: the cookie is then ignored)", () => {
    const found = findToken(
      { authorization: "Bearer from.header.x", cookie: "mercureAuthorization=from.cookie.x" },
      url(),
    )
    expect(found).toEqual({ token: "from.header.x", source: "header" })
  })

  it("reads the draft-08 cookie before the legacy one, and honours custom names", () => {
    const cookie = 'mercureAuthorization=legacy.l.l; __Secure-mercure_access_token="draft.d.d"'
    expect(findToken({ cookie }, url())).toEqual({ token: "draft.d.d", source: "cookie" })
    expect(findToken({ cookie: "mercureAuthorization=legacy.l.l" }, url())).toEqual({
      token: "legacy.l.l",
      source: "cookie",
    })
    expect(
      findToken({ cookie: "mine=m.m.m; mercureAuthorization=l.l.l" }, url(), { cookieNames: ["mine"] }),
    ).toEqual({
      token: "m.m.m",
      source: "cookie",
    })
    expect(
      findToken({ cookie: "mercureAuthorization=l.l.l" }, url(), { cookieNames: ["mine"] }),
    ).toBeUndefined()
  })

  it("reads the legacy query parameter, before the ambient cookie, unless disabled", () => {
    expect(findToken({}, url("?topic=x&authorization=q.q.q"))).toEqual({ token: "q.q.q", source: "query" })
    expect(findToken({ cookie: "mercureAuthorization=c.c.c" }, url("?authorization=q.q.q"))).toEqual({
      token: "q.q.q",
      source: "query",
    })
    expect(findToken({}, url("?authorization=q.q.q"), { legacyQueryParameter: false })).toBeUndefined()
    expect(
      findToken({ cookie: "mercureAuthorization=c.c.c" }, url("?authorization=q.q.q"), {
        legacyQueryParameter: false,
      }),
    ).toEqual({ token: "c.c.c", source: "cookie" })
  })

  it("answers a malformed Authorization header with 400 invalid_request", () => {
    for (const [authorization, words] of [
      ["Basic dXNlcjpwYXNz", '"Basic" scheme'],
      ["Bearer", "no token"],
      ["Bearer    ", "no token"],
      ["", 'not "Bearer <token>"'],
      ["Bearer Bearer a.b.c", "spaces"],
      ['Bearer "a.b.c"', "quotes"],
      ["Bearer a.b.c\u00e9", "cannot contain"],
      ["Bearer:a.b.c", 'not "Bearer <token>"'],
    ] as const) {
      const error = thrown(() => findToken({ authorization }, url()))
      expect([error.status, error.code]).toEqual([400, "invalid_request"])
      expect(error.description).toContain(words)
    }
  })

  it("refuses two tokens by header and query, two query tokens, and an empty query token", () => {
    const both = thrown(() => findToken({ authorization: "Bearer h.h.h" }, url("?authorization=q.q.q")))
    expect([both.status, both.code]).toEqual([400, "invalid_request"])
    expect(both.description).toContain("both")
    const twice = thrown(() => findToken({}, url("?authorization=a.a.a&authorization=b.b.b")))
    expect(twice.description).toContain("2 times")
    const empty = thrown(() => findToken({}, url("?authorization=")))
    expect(empty.description).toContain("empty")
    // With the legacy parameter disabled, it is not a second presentation.
    expect(
      findToken({ authorization: "Bearer h.h.h" }, url("?authorization=q.q.q"), {
        legacyQueryParameter: false,
      }),
    ).toEqual({ token: "h.h.h", source: "header" })
  })
})

describe("findToken with x-api-key", () => {
  const apiKey = { apiKeyHeader: true }

  it("reads x-api-key only when the app enables it", () => {
    expect(findToken({ "x-api-key": "abc.def" }, url())).toBeUndefined()
    expect(findToken({ "x-api-key": "abc.def" }, url(), apiKey)).toEqual({
      token: "abc.def",
      source: "api-key",
    })
  })

  it("prefers x-api-key, which the client chose, over the ambient cookie", () => {
    const headers = { "x-api-key": "key", cookie: "mercureAuthorization=cookie" }
    expect(findToken(headers, url(), apiKey)).toEqual({ token: "key", source: "api-key" })
  })

  it("accepts the same token in both headers, and refuses two different ones naming both", () => {
    expect(findToken({ authorization: "Bearer t", "x-api-key": "t" }, url(), apiKey)).toEqual({
      token: "t",
      source: "header",
    })
    const error = thrown(() => findToken({ authorization: "Bearer t", "x-api-key": "u" }, url(), apiKey))
    expect(error.status).toBe(400)
    expect(error.code).toBe("invalid_request")
    expect(error.description).toContain("Authorization header")
    expect(error.description).toContain("x-api-key header")
    // Disabled, x-api-key is not read at all, so it cannot conflict.
    expect(findToken({ authorization: "Bearer t", "x-api-key": "u" }, url())).toEqual({
      token: "t",
      source: "header",
    })
  })

  it("refuses an empty, repeated or malformed x-api-key, and one beside the query parameter", () => {
    const cases: [Parameters<typeof findToken>[0], string, string][] = [
      [{ "x-api-key": " " }, "", "the x-api-key header is empty"],
      [{ "x-api-key": ["a", "b"] }, "", "the x-api-key header is given 2 times"],
      [{ "x-api-key": "a, b" }, "", "are two tokens given?"],
      [{ "x-api-key": "a" }, "?authorization=b", "both in the x-api-key header and in the"],
    ]
    for (const [headers, query, expected] of cases) {
      const error = thrown(() => findToken(headers, url(query), apiKey))
      expect(error.status).toBe(400)
      expect(error.description).toContain(expected)
    }
  })
})
