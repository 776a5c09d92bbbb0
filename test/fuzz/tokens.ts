// Tokens for the fuzz campaign: the dev tokens (so that authorized paths run), tokens signed with
// the dev secret but carrying hostile claims (Unicode matchers, odd match types, payloads, the
// legacy `mercure` claim, wrong audience, expired, alg none), tampered tokens and junk.
import fc from "fast-check"
import { SignJWT, UnsecuredJWT } from "jose"
import { textBytes, unicodeText } from "./bytes.js"

/** What signs a token: the hub's dev secret, audience and issuer, and its two dev tokens. */
export interface TokenContext {
  readonly secret: string
  readonly hubUrl: string
  readonly issuer: string
  readonly publisherToken: string
  readonly subscriberToken: string
}

/** A token the campaign presents, described so that a counterexample says what it was. */
export type TokenSpec =
  | { readonly kind: "publisher" | "subscriber" }
  | { readonly kind: "signed"; readonly claims: Readonly<Record<string, unknown>>; readonly flaw: Flaw }
  /** A dev token with the character at `at` replaced by `insert` (a broken signature, or worse). */
  | {
      readonly kind: "tampered"
      readonly base: "publisher" | "subscriber"
      readonly at: number
      readonly insert: string
    }
  | { readonly kind: "junk"; readonly bytes: string }

/** What is wrong with a signed token besides its claims, if anything. */
type Flaw = "none" | "wrong-audience" | "expired" | "no-expiry" | "other-issuer" | "alg-none"

/** How a token travels. */
export type Presentation =
  | "bearer"
  | "bearer-lowercase"
  | "bearer-extra-spaces"
  | "basic"
  | "cookie"
  | "legacy-cookie"
  | "cookie-twice"
  | "query"
  | "header-and-query"

const matcher = fc.record(
  {
    match: fc.oneof(
      unicodeText,
      fc.constantFrom("*", "https://example.com/{id}", "/.well-known/mercure/subscriptions/*"),
    ),
    match_type: fc.constantFrom("exact", "urlpattern", "uritemplate", "regex", "", "EXACT"),
  },
  { requiredKeys: ["match"] },
)

const action = fc.constantFrom("publish", "subscribe", "admin", "", "PUBLISH")

/** draft-08 authorization details, mostly well-formed, with hostile values. */
const authorizationDetails = fc.array(
  fc.record(
    {
      type: fc.constantFrom("mercure", "https://mercure.rocks/", "other", ""),
      actions: fc.oneof(fc.array(action, { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
      topics: fc.oneof(fc.array(matcher, { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
      payload: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: ["type", "actions", "topics"] },
  ),
  { maxLength: 3 },
)

/** The pre-standardization `mercure` claim: selectors are `*`, URI templates or exact topics. */
const legacyClaim = fc.record(
  {
    publish: fc.oneof(fc.array(unicodeText, { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
    subscribe: fc.oneof(fc.array(unicodeText, { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
    payload: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
)

export const tokenSpec: fc.Arbitrary<TokenSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<TokenSpec>({ kind: "publisher" }, { kind: "subscriber" }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("signed" as const),
      claims: fc.oneof(
        authorizationDetails.map((details) => ({ authorization_details: details })),
        legacyClaim.map((mercure) => ({ mercure })),
        fc.dictionary(unicodeText, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
      ),
      flaw: fc.constantFrom<Flaw>(
        "none",
        "none",
        "wrong-audience",
        "expired",
        "no-expiry",
        "other-issuer",
        "alg-none",
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("tampered" as const),
      base: fc.constantFrom("publisher" as const, "subscriber" as const),
      at: fc.nat(),
      insert: fc.oneof(fc.constantFrom("", ".", "A", "=", " ", "\xff"), textBytes),
    }),
  },
  { weight: 1, arbitrary: textBytes.map((bytes) => ({ kind: "junk" as const, bytes })) },
)

export const presentation = fc.constantFrom<Presentation>(
  "bearer",
  "bearer",
  "bearer",
  "bearer-lowercase",
  "bearer-extra-spaces",
  "basic",
  "cookie",
  "legacy-cookie",
  "cookie-twice",
  "query",
  "header-and-query",
)

/** The token as the byte string that goes on the wire. */
export async function tokenBytes(spec: TokenSpec, context: TokenContext): Promise<string> {
  switch (spec.kind) {
    case "publisher":
      return context.publisherToken
    case "subscriber":
      return context.subscriberToken
    case "tampered": {
      const base = spec.base === "publisher" ? context.publisherToken : context.subscriberToken
      const at = spec.at % base.length
      return base.slice(0, at) + spec.insert + base.slice(at + 1)
    }
    case "junk":
      return spec.bytes
    case "signed":
      return sign(spec.claims, spec.flaw, context)
  }
}

async function sign(
  claims: Readonly<Record<string, unknown>>,
  flaw: Flaw,
  context: TokenContext,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const payload = { client_id: context.issuer, sub: "fuzz", jti: `fuzz-${now}`, ...claims }
  if (flaw === "alg-none") {
    return new UnsecuredJWT(payload).setIssuer(context.issuer).setAudience(context.hubUrl).encode()
  }
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
    .setIssuer(flaw === "other-issuer" ? "urn:fuzz:other" : context.issuer)
    .setAudience(flaw === "wrong-audience" ? "https://elsewhere.test/" : context.hubUrl)
    .setIssuedAt(now - 120)
  if (flaw !== "no-expiry") jwt.setExpirationTime(flaw === "expired" ? now - 60 : now + 3600)
  return jwt.sign(new TextEncoder().encode(context.secret))
}
