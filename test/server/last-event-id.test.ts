import { describe, expect, it } from "vitest"
import { readLastEventId } from "../../src/server/index.js"

describe("readLastEventId", () => {
  it("prefers the header, then the query parameters in order, else empty", () => {
    expect(readLastEventId("7", "/events?lastEventId=8")).toBe("7")
    expect(readLastEventId(undefined, "/events?lastEventID=9&lastEventId=8")).toBe("8")
    expect(readLastEventId(null, "/events?x=1")).toBe("")
    expect(readLastEventId(["first", "second"], "/")).toBe("first")
    expect(readLastEventId(undefined, "/events?cursor=5", ["cursor"])).toBe("5")
    expect(readLastEventId(undefined, "/events?lastEventId=5", [])).toBe("")
  })

  it("decodes a non-ASCII header the way EventSource sent it (UTF-8)", () => {
    expect(readLastEventId(Buffer.from("日本-1", "utf8").toString("latin1"), "/")).toBe("日本-1")
  })

  it("answers an unparsable request target with no cursor instead of throwing", () => {
    expect(readLastEventId(undefined, "http://[?lastEventId=1")).toBe("")
  })
})
