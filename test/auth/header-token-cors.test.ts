import { describe, expect, it } from "vitest"
import { createHeaderTokenCors } from "../../src/auth/header-token-cors.js"

const GRANTS = {
  name: "these tests",
  howToAllow: "the list",
  exposedHeaders: ["x-out"],
  allowedHeaders: ["authorization"],
  methods: ["GET", "OPTIONS"],
}

describe("createHeaderTokenCors", () => {
  it("keys every answer of a list on the origin, the refused ones too, so that a cache never serves one origin's to another", () => {
    const cors = createHeaderTokenCors(GRANTS, { origins: ["https://app.example"] })
    expect(cors.headersFor("https://app.example")).toMatchObject({
      "access-control-allow-origin": "https://app.example",
      vary: "Origin",
    })
    expect(cors.headersFor("https://elsewhere.example")).toEqual({ vary: "Origin" })
    expect(cors.headersFor(undefined)).toEqual({ vary: "Origin" })
  })

  it("grants no credentials, and answers the same to every origin when it allows any or none", () => {
    const any = createHeaderTokenCors(GRANTS, { origins: "*" })
    expect(any.headersFor("https://a.example")).toEqual({
      "access-control-allow-origin": "*",
      "access-control-expose-headers": "x-out",
    })
    expect(any.headersFor(undefined)).toEqual({})
    expect(createHeaderTokenCors(GRANTS, { origins: [] }).headersFor("https://a.example")).toEqual({})
  })
})
