import type { IncomingMessage } from "node:http"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { RequestTarget } from "../../src/streams/target.js"

const requestTo = (url: string, host = "example.test"): IncomingMessage =>
  ({ url, headers: { host }, socket: {} }) as IncomingMessage

/** The path as the URL parser reads the request target. */
const parsedPath = (url: string) => new URL(url, "http://example.test").pathname

/** What `read` returns, or that it throws (a target no URL can be made of, such as `//`). */
const outcome = (read: () => string) => {
  try {
    return read()
  } catch {
    return "throws"
  }
}

describe("RequestTarget", () => {
  it("reads the path the URL parser reads, plain or not", () => {
    for (const url of [
      "/v1/stream/a",
      "/v1/stream/a?offset=-1&live=sse",
      "/v1/stream/a/../b",
      "/v1/stream/./a",
      "/v1/stream/a/.%2e/b",
      "/v1/stream/a b",
      "/v1/stream/é",
      "/v1/stream/a%2Fb",
      "/v1/stream/a\\b",
      "//host/v1/stream/a",
      "/v1/stream//a",
      "/v1/stream/a#fragment",
      "/v1/stream/.hidden",
      "/v1/stream/a.b~c!d$e&f'g(h)i*j+k,l;m=n:o@p",
    ]) {
      expect(new RequestTarget(requestTo(url)).path, url).toBe(parsedPath(url))
    }
  })

  it("agrees with the URL parser on any target", () => {
    const unit = fc.constantFrom(..."/./a%2e?#\\ é`{}|^'~-_:@!$&()*+,;=Z9".split(""))
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 24 }), (tail) => {
        const url = `/${tail}`
        expect(outcome(() => new RequestTarget(requestTo(url)).path)).toBe(outcome(() => parsedPath(url)))
      }),
      { numRuns: 5000 },
    )
  })

  it("parses the URL, with its host and query, when asked", () => {
    const target = new RequestTarget(requestTo("/v1/stream/a?offset=now", "herald.test:4437"))
    expect(target.url.href).toBe("http://herald.test:4437/v1/stream/a?offset=now")
    expect(target.url.searchParams.get("offset")).toBe("now")
    expect(new RequestTarget(requestTo("/v1/stream/a", "bad host")).url.host).toBe("localhost")
  })
})
