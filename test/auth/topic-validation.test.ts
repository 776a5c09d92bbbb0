import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  addressesReservedNamespace,
  invalidCharacterReason,
  removeDotSegments,
} from "../../src/auth/matchers/validate.js"

/** The rule written out per code point, the slow obvious way. */
function referenceReason(value: string): { codePoint: number; position: number } | undefined {
  let position = 0
  for (let i = 0; i < value.length; i++) {
    let codePoint = value.charCodeAt(i)
    if (codePoint >= 0xd800 && codePoint <= 0xdbff && i + 1 < value.length) {
      const low = value.charCodeAt(i + 1)
      if (low >= 0xdc00 && low <= 0xdfff) {
        codePoint = 0x10000 + ((codePoint - 0xd800) << 10) + (low - 0xdc00)
        i++
      }
    }
    const bad =
      codePoint <= 0x1f ||
      (codePoint >= 0x7f && codePoint <= 0x9f) ||
      (codePoint >= 0xd800 && codePoint <= 0xdfff) ||
      /^\p{Cf}$/u.test(String.fromCodePoint(codePoint))
    if (bad) return { codePoint, position }
    position++
  }
  return undefined
}

describe("invalidCharacterReason", () => {
  it.each([
    ["", undefined],
    ["https://example.com/books/1", undefined],
    ["urn:uuid:e1ee88e2-532a-4d6f-ba70-f0f8bd584022", undefined],
    ["caf\u00e9 \u{1F600} \u4e2d", undefined],
    ["\u00a0", undefined], // NO-BREAK SPACE is Zs, not a control
  ])("accepts %j", (value, expected) => {
    expect(invalidCharacterReason(value)).toBe(expected)
  })

  it.each([
    ["a\u0000b", "U+0000", 1, "C0"],
    ["\n", "U+000A", 0, "C0"],
    ["ab\u001f", "U+001F", 2, "C0"],
    ["x\u007f", "U+007F", 1, "DEL"],
    ["\u0080", "U+0080", 0, "C1"],
    ["\u009f", "U+009F", 0, "C1"],
    ["a\u200bb", "U+200B", 1, "Cf"], // ZERO WIDTH SPACE
    ["\u202e", "U+202E", 0, "Cf"], // RIGHT-TO-LEFT OVERRIDE
    ["\ufeff", "U+FEFF", 0, "Cf"], // BOM / ZWNBSP
    ["\u00ad", "U+00AD", 0, "Cf"], // SOFT HYPHEN
    ["\u{1F600}\u{E0001}", "U+E0001", 1, "Cf"], // LANGUAGE TAG, after an astral char counted once
    ["a\ud800", "U+D800", 1, "surrogate"],
    ["\udc00a", "U+DC00", 0, "surrogate"],
    ["\udc00\ud800", "U+DC00", 0, "surrogate"], // reversed pair: both lone
  ])("rejects %j naming %s at %i", (value, codePoint, position, kind) => {
    const reason = invalidCharacterReason(value)
    expect(reason).toContain(codePoint)
    expect(reason).toContain(`position ${position}`)
    expect(reason).toContain(kind)
  })

  it("agrees with a per-code-point reference on arbitrary strings", () => {
    const interesting = fc.constantFrom(
      "\u0000",
      "\u001f",
      "\u007f",
      "\u0080",
      "\u009f",
      "\u00a0",
      "\u200b",
      "\u200d",
      "\u2066",
      "\ufeff",
      "\ud800",
      "\udfff",
      "\u{1F600}",
      "\u{E0041}",
      "a",
      "/",
      "%",
    )
    const text = fc
      .array(fc.oneof(interesting, fc.string({ unit: "binary", maxLength: 4 })), { maxLength: 12 })
      .map((parts) => parts.join(""))
    fc.assert(
      fc.property(text, (value) => {
        const expected = referenceReason(value)
        const reason = invalidCharacterReason(value)
        if (expected === undefined) return reason === undefined
        const hex = expected.codePoint.toString(16).toUpperCase().padStart(4, "0")
        return reason?.includes(`U+${hex} `) && reason.endsWith(` ${expected.position}`)
      }),
      { numRuns: 2000 },
    )
  })
})

describe("removeDotSegments (RFC 3986 5.2.4)", () => {
  // The RFC's own walk-through examples and section 5.4 results.
  it.each([
    ["/a/b/c/./../../g", "/a/g"],
    ["mid/content=5/../6", "mid/6"],
    ["/b/c/./g", "/b/c/g"],
    ["/b/c/g/.", "/b/c/g/"],
    ["/b/c/..", "/b/"],
    ["/../g", "/g"],
    ["/./g", "/g"],
    ["/b/c/g..", "/b/c/g.."],
    ["/b/c/..g", "/b/c/..g"],
    ["/b/c/./../g", "/b/g"],
    ["/b/c/g;x=1/../y", "/b/c/y"],
    ["../a", "a"],
    ["./a", "a"],
    [".", ""],
    ["..", ""],
    ["/", "/"],
    ["", ""],
    ["a/../.well-known/mercure", "/.well-known/mercure"],
  ])("%j -> %j", (input, output) => {
    expect(removeDotSegments(input)).toBe(output)
  })
})

describe("addressesReservedNamespace", () => {
  const hub = new URL("https://hub.example.com/.well-known/mercure")

  it.each([
    // The exact path and the subtree.
    ["/.well-known/mercure", true],
    ["/.well-known/mercure/", true],
    ["/.well-known/mercure/subscriptions/exact/x/y", true],
    // Relative topics resolve against the hub URL.
    [".well-known/mercure/x", false], // resolves to /.well-known/.well-known/mercure/x
    ["mercure/x", true],
    ["./mercure", true],
    ["../.well-known/mercure/x", true],
    ["subscriptions", false], // resolves to /.well-known/subscriptions
    ["books/1", false],
    // Absolute topics: any scheme, any host.
    ["https://hub.example.com/.well-known/mercure/subscriptions/x", true],
    ["https://other.example.org/.well-known/mercure/x", true],
    ["http://other.example.org:8080/.well-known/mercure", true],
    ["foo://bar/.well-known/mercure/x", true],
    // Percent-encoded unreserved characters, any case, and dot-segments after decoding.
    ["/.well-known/%6Dercure/x", true],
    ["/.well-known/%6dercure", true],
    ["/%2Ewell-known/mercure/x", true],
    ["/.well-known/mercure/../mercure/x", true],
    ["/.well-known/x/../mercure", true],
    ["/.well-known/x/%2e%2e/mercure/y", true],
    ["/.well-known/x/%2E%2E/mercure", true],
    ["/books/%2e%2e/.well-known/mercure", true],
    ["/.well-known/mercure/%2e%2e/other", false], // leaves the subtree
    // Reserved characters stay encoded: these are other paths.
    ["/.well-known%2Fmercure/x", false],
    ["/.well-known/mercure%2Fx", false],
    // Lookalikes that are not the subtree.
    ["/.well-known/mercurex", false],
    ["/.well-known/mercure-x/y", false],
    ["/.well-known/Mercure/x", false],
    ["https://example.com/books/1", false],
    ["/", false],
    // Not hierarchical: an opaque path does not name a hub path.
    ["urn:uuid:e1ee88e2-532a-4d6f-ba70-f0f8bd584022", false],
    ["urn:.well-known/mercure", false],
    ["mailto:mercure@example.com", false],
    // Does not parse against the hub URL.
    ["http://[::1", false],
    ["https://exa mple.com/.well-known/mercure", false],
  ])("%j -> %s", (topic, expected) => {
    expect(addressesReservedNamespace(topic, hub)).toBe(expected)
  })

  it("uses the hub URL's own path when the hub is mounted under a prefix", () => {
    const mounted = new URL("https://example.com/api/hub")
    expect(addressesReservedNamespace("/api/hub", mounted)).toBe(true)
    expect(addressesReservedNamespace("/api/hub/subscriptions/x", mounted)).toBe(true)
    expect(addressesReservedNamespace("hub/x", mounted)).toBe(true)
    expect(addressesReservedNamespace("/api/%68ub/x", mounted)).toBe(true)
    expect(addressesReservedNamespace("https://elsewhere.example/api/hub", mounted)).toBe(true)
    expect(addressesReservedNamespace("/.well-known/mercure/x", mounted)).toBe(false)
    expect(addressesReservedNamespace("/api/hubs", mounted)).toBe(false)
    expect(addressesReservedNamespace("/api", mounted)).toBe(false)
    // A trailing slash on the configured hub URL reserves the same subtree.
    const slash = new URL("https://example.com/api/hub/")
    expect(addressesReservedNamespace("/api/hub", slash)).toBe(true)
    expect(addressesReservedNamespace("/api/hub/x", slash)).toBe(true)
    expect(addressesReservedNamespace("/api/hubx", slash)).toBe(false)
  })

  it("never throws, whatever the topic", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (topic) => {
        expect(typeof addressesReservedNamespace(topic, hub)).toBe("boolean")
      }),
    )
  })
})
