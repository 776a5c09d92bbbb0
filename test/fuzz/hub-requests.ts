// The fuzz campaign's requests: for every route of `herald serve`, requests that are mostly
// what the route expects with hostile values in them, in hostile envelopes (any method, broken
// framing, duplicated, huge and non-ASCII headers, slow or aborted writes), and sequences that
// chain routes (publish with an id, then resume from it). Each is a plain value, so a
// counterexample reads as what was sent; renderRequest turns one into bytes.
import fc from "fast-check"
import { percentEncode, textBytes, toBuffer, unicodeText, utf8 } from "./bytes.js"
import { ALLOWED_ORIGIN, MAX_BODY_BYTES } from "./fuzz-hub.js"
import type { Delivery } from "./raw-http.js"
import {
  type Presentation,
  presentation,
  type TokenContext,
  type TokenSpec,
  tokenBytes,
  tokenSpec,
} from "./tokens.js"

/** Every path of `herald serve` the campaign attacks, in one place: update it when routes change. */
export const ROUTES = {
  hub: "/.well-known/mercure",
  subscriptions: "/.well-known/mercure/subscriptions",
  batchPublish: "/herald/v1/publish",
  metadata: "/.well-known/oauth-protected-resource/.well-known/mercure",
  healthz: "/healthz",
  readyz: "/readyz",
  metrics: "/metrics",
} as const

/** Paths no route owns, or that only look like one. */
const UNKNOWN_PATHS = ["/", "/nope", `${ROUTES.hub}/`, `${ROUTES.hub}/x`, "//healthz", "/%2e%2e/healthz", "*"]

/** The cookie names the hub reads a subscriber token from (draft-08's, then the legacy one). */
const COOKIE_NAMES = ["__Secure-mercure_access_token", "mercureAuthorization"]

/** How the body's length is told: right, or wrong in one of the ways that confuse servers. */
type Framing =
  | "length"
  | "chunked"
  | "none"
  | "short-length"
  | "long-length"
  | "length-and-chunked"
  | "bad-chunk"

/** One query parameter; `raw` sends its bytes unencoded in the request target. */
export interface Param {
  readonly name: string
  readonly value: string
  readonly raw: boolean
}

/** One request, all of it byte strings (see bytes.ts) but the token, which is signed when rendered. */
export interface FuzzRequest {
  readonly method: string
  readonly path: string
  readonly query: readonly Param[]
  readonly version: string
  readonly host: "normal" | "missing" | "twice" | "garbage"
  readonly headers: readonly (readonly [string, string])[]
  readonly token: { readonly spec: TokenSpec; readonly presented: Presentation } | undefined
  readonly body: string
  readonly framing: Framing
  readonly delivery: Delivery
}

/** A step of the campaign: one request, or a short sequence that chains routes. */
export type Scenario =
  | { readonly kind: "request"; readonly request: FuzzRequest }
  /** Publish an update with `id` on `topic` (valid tokens), then subscribe resuming from `id`. */
  | {
      readonly kind: "resume"
      readonly topic: string
      readonly id: string
      readonly resumeBy: "header" | "header-latin1" | "query" | "legacy-query"
      readonly matchAll: boolean
    }
  /**
   * Hold a subscription to `topic` open, publish an update with `id` (the API's `ETag` and `Link`
   * carry the last id), and read the subscription API at `segments`.
   */
  | {
      readonly kind: "subscription-api"
      readonly topic: string
      readonly id: string
      readonly segments: readonly string[]
    }

const anyMethod = fc.constantFrom(
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
  "QUERY",
  "TRACE",
  "CONNECT",
  "get",
  "FOO",
  "M-SEARCH",
  "G\0T",
  "",
)

/** Mostly one of the route's methods, sometimes any. */
const methodOf = (...usual: string[]) =>
  fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...usual) }, { weight: 1, arbitrary: anyMethod })

const exampleTopic = fc.constantFrom(
  "https://example.com/books/1",
  "*",
  "books",
  "https://example.com/{id}",
  "https://example.com/books/:id",
  `${ROUTES.subscriptions}{/topic}{/subscriber}`,
)

/** A topic or matcher as bytes: an example, or hostile text. */
const topicBytes = fc.oneof(
  { weight: 2, arbitrary: exampleTopic.map(utf8) },
  { weight: 3, arbitrary: textBytes },
)

/** An event id as text: the ids that broke hubs, or any Unicode. */
const eventIdText = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom("中1", "é", "\u00ff", "😀", "\u2028", "urn:uuid:0", "1", "earliest", "#0"),
  },
  { weight: 3, arbitrary: unicodeText },
)

const raw = fc.constantFrom(false, false, false, false, true)
const param = (name: fc.Arbitrary<string>, value: fc.Arbitrary<string>): fc.Arbitrary<Param> =>
  fc.record({ name, value, raw })

const contentType = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "application/x-www-form-urlencoded",
      "application/json",
      "application/x-ndjson",
      "application/x-www-form-urlencoded; charset=ISO-8859-1",
      "APPLICATION/JSON",
      "application/x-ndjson; charset=utf-8",
      "text/plain",
      "multipart/form-data; boundary=x",
      "application/json;;",
      "",
    ),
  },
  { weight: 1, arbitrary: textBytes },
)

/** Headers beside the route's own: the ones the hub reads, framing and proxy headers, junk, huge. */
const extraHeader: fc.Arbitrary<readonly [string, string]> = fc.oneof(
  fc.tuple(fc.constant("Content-Type"), contentType),
  fc.tuple(fc.constant("Last-Event-ID"), fc.oneof(eventIdText.map(utf8), textBytes)),
  fc.tuple(
    fc.constantFrom("Origin", "Referer"),
    fc.oneof(
      fc.constantFrom(
        ALLOWED_ORIGIN,
        `${ALLOWED_ORIGIN}/page`,
        "null",
        "http://evil.test",
        utf8("http://中.test"),
      ),
      textBytes,
    ),
  ),
  fc.tuple(
    fc.constantFrom(
      "Accept",
      "Cache-Control",
      "Expect",
      "Connection",
      "Upgrade",
      "Forwarded",
      "X-Forwarded-For",
      "Access-Control-Request-Method",
      "Access-Control-Request-Headers",
      "Cookie",
      "Authorization",
      "Content-Length",
      "Transfer-Encoding",
      "Content-Encoding",
    ),
    fc.oneof(
      fc.constantFrom(
        "text/event-stream",
        "100-continue",
        "close",
        "keep-alive",
        "upgrade",
        "websocket",
        "for=203.0.113.1",
        "203.0.113.1, 10.0.0.1",
        "gzip",
        "chunked",
        "*",
        "0",
        "-1",
      ),
      textBytes,
    ),
  ),
  fc.tuple(textBytes, textBytes),
  // Past Node's 16 KiB header limit: the hub must refuse it (431) and carry on.
  fc.tuple(
    fc.constant("X-Huge"),
    fc.constantFrom(17_000, 70_000).map((n) => "h".repeat(n)),
  ),
)

const envelope = fc.record({
  version: fc.constantFrom(
    "HTTP/1.1",
    "HTTP/1.1",
    "HTTP/1.1",
    "HTTP/1.1",
    "HTTP/1.0",
    "HTTP/2.0",
    "HTTP/1.1x",
    "",
  ),
  host: fc.constantFrom("normal", "normal", "normal", "normal", "normal", "missing", "twice", "garbage"),
  headers: fc.array(extraHeader, { maxLength: 3 }),
  framing: fc.constantFrom<Framing>(
    ...(["length", "length", "length", "length", "chunked", "chunked", "none"] as const),
    ...(["short-length", "long-length", "length-and-chunked", "bad-chunk"] as const),
  ),
  delivery: fc.oneof(
    { weight: 6, arbitrary: fc.constant<Delivery>({ kind: "whole" }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 15 }))
        .map(([pieces, pauseMs]): Delivery => ({ kind: "slow", pieces, pauseMs })),
    },
    { weight: 2, arbitrary: fc.nat().map((at): Delivery => ({ kind: "abort", at })) },
    { weight: 1, arbitrary: fc.constant<Delivery>({ kind: "half-close" }) },
  ),
})

/** A token for a route: mostly the right dev token, sometimes anything, sometimes none. */
const tokenFor = (role: "publisher" | "subscriber") =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constant({ spec: { kind: role } as TokenSpec, presented: "bearer" as Presentation }),
    },
    { weight: 3, arbitrary: fc.record({ spec: tokenSpec, presented: presentation }) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  )

/** `name=value&…`, percent-encoded, or raw when a parameter says so: a query or a form body. */
export const encodeForm = (params: readonly Param[]): string =>
  params
    .map(({ name, value, raw }) =>
      raw ? `${name}=${value}` : `${percentEncode(name)}=${percentEncode(value)}`,
    )
    .join("&")

/** A JSON update as the batch publish takes it, with values of every JSON type. */
const jsonUpdate = fc.record(
  {
    topic: fc.oneof(
      unicodeText,
      exampleTopic,
      fc.array(fc.oneof(unicodeText, exampleTopic), { maxLength: 3 }),
    ),
    data: fc.oneof(unicodeText, fc.jsonValue({ maxDepth: 1 })),
    id: fc.oneof(eventIdText, fc.jsonValue({ maxDepth: 0 })),
    type: fc.oneof(unicodeText, fc.jsonValue({ maxDepth: 0 })),
    retry: fc.oneof(fc.nat(), fc.constantFrom(-1, 1.5, 1e300), fc.jsonValue({ maxDepth: 0 })),
    private: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 0 })),
  },
  { requiredKeys: ["topic"] },
)

/** An update the hub accepts, mostly: hostile ones alone stop a batch at its first line. */
const someUpdate = fc.oneof(
  { weight: 3, arbitrary: fc.record({ topic: exampleTopic, data: unicodeText }) },
  { weight: 1, arbitrary: jsonUpdate },
)

/** A body as bytes with an invalid UTF-8 byte spliced in at `at`, or cut at `at`. */
const mangled = (body: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 5, arbitrary: body },
    {
      weight: 1,
      arbitrary: fc.tuple(body, fc.nat()).map(([bytes, at]) => {
        const cut = at % (bytes.length + 1)
        return `${bytes.slice(0, cut)}\xff${bytes.slice(cut)}`
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(body, fc.nat()).map(([bytes, at]) => bytes.slice(0, at % (bytes.length + 1))),
    },
    // A character cut at the very end: the decoder holds its bytes until it is flushed.
    { weight: 1, arbitrary: body.map((bytes) => `${bytes}\xe4\xb8`) },
  )

const jsonBody = mangled(
  fc
    .oneof(
      fc.array(someUpdate, { maxLength: 4 }),
      fc.record({ updates: fc.array(someUpdate, { maxLength: 4 }) }),
      fc.jsonValue({ maxDepth: 2 }),
    )
    .map((document) => utf8(JSON.stringify(document) ?? "")),
)

const ndjsonBody = mangled(
  fc
    .tuple(
      fc.array(
        fc.oneof(
          { weight: 4, arbitrary: someUpdate.map((update) => JSON.stringify(update)) },
          { weight: 1, arbitrary: unicodeText },
          { weight: 1, arbitrary: fc.constant("") },
        ),
        { maxLength: 5 },
      ),
      fc.constantFrom("\n", "\r\n"),
      fc.boolean(),
    )
    .map(([lines, newline, trailing]) => utf8(lines.join(newline) + (trailing ? newline : ""))),
)

/** Just past the hub's body limit: as a form field, and as one NDJSON line that never ends. */
const oversizeBody = fc.constantFrom(
  `data=${"x".repeat(MAX_BODY_BYTES)}`,
  `{"topic":"t","data":"${"x".repeat(MAX_BODY_BYTES)}`,
)

const randomBody = fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString("latin1"))

/** Mostly the route's own kind of body; sometimes one past the limit, or random bytes. */
const bodyOr = (usual: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 6, arbitrary: usual }, { weight: 1, arbitrary: fc.oneof(oversizeBody, randomBody) })

const subscribeParam = param(
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.constantFrom(
        "match",
        "match",
        "match_urlpattern",
        "topic",
        "last_event_id",
        "lastEventID",
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom("match_uritemplate", "MATCH", "match_", "authorization", "x") },
    { weight: 1, arbitrary: textBytes },
  ),
  fc.oneof(topicBytes, eventIdText.map(utf8)),
)

const publishField = param(
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("topic", "topic", "data", "id", "type", "retry", "private") },
    { weight: 1, arbitrary: textBytes },
  ),
  fc.oneof(
    topicBytes,
    eventIdText.map(utf8),
    fc.constantFrom("0", "1000", "-1", "9".repeat(400), "1e3", "on", "true"),
  ),
)

/** Subscribe: GET with matchers in the query, or QUERY with them in the body. */
const subscribeRequest = fc
  .record({
    method: methodOf("GET", "GET", "QUERY"),
    query: fc.array(subscribeParam, { maxLength: 4 }),
    bodyFields: fc.array(subscribeParam, { maxLength: 3 }),
    lastEventId: fc.option(eventIdText.map(utf8)),
    token: tokenFor("subscriber"),
    envelope,
  })
  .map(({ method, query, bodyFields, lastEventId, token, envelope }) => {
    const headers = [...envelope.headers]
    if (lastEventId !== null) headers.push(["Last-Event-ID", lastEventId])
    if (method === "QUERY") headers.push(["Content-Type", "application/x-www-form-urlencoded"])
    return {
      ...envelope,
      method,
      path: ROUTES.hub,
      query,
      headers,
      token,
      body: method === "QUERY" ? encodeForm(bodyFields) : "",
    }
  })

/** Publish: a form POST of update fields. */
const publishFormRequest = fc
  .record({
    method: methodOf("POST"),
    body: bodyOr(fc.array(publishField, { maxLength: 6 }).map(encodeForm)),
    token: tokenFor("publisher"),
    envelope,
  })
  .map(({ method, body, token, envelope }) => ({
    ...envelope,
    method,
    path: ROUTES.hub,
    query: [],
    headers: [["Content-Type", "application/x-www-form-urlencoded"] as const, ...envelope.headers],
    token,
    body,
  }))

/** Herald's batch publish: JSON or NDJSON. */
const batchPublishRequest = fc
  .record({
    method: methodOf("POST"),
    typed: fc.oneof(
      fc.record({ kind: fc.constant("application/json"), body: bodyOr(jsonBody) }),
      fc.record({ kind: fc.constant("application/x-ndjson"), body: bodyOr(ndjsonBody) }),
    ),
    token: tokenFor("publisher"),
    envelope,
  })
  .map(({ method, typed: { kind, body }, token, envelope }) => ({
    ...envelope,
    method,
    path: ROUTES.batchPublish,
    query: [],
    headers: [["Content-Type", kind] as const, ...envelope.headers],
    token,
    body,
  }))

/** A path segment of the subscription API: a match type, a topic, or junk; encoded or raw. */
const subscriptionSegment = fc.oneof(
  fc.constantFrom("exact", "urlpattern", "uritemplate", "", "%", "%zz"),
  topicBytes.map(percentEncode),
  textBytes,
)

/** The subscription API: its collection, a topic's subscriptions, one subscription. */
const subscriptionApiRequest = fc
  .record({
    method: methodOf("GET", "GET", "OPTIONS"),
    segments: fc.array(subscriptionSegment, { maxLength: 4 }),
    token: tokenFor("subscriber"),
    envelope,
  })
  .map(({ method, segments, token, envelope }) => ({
    ...envelope,
    method,
    path: [ROUTES.subscriptions, ...segments].join("/"),
    query: [],
    token,
    body: "",
  }))

/** Any route, unknown paths included, with any method, headers, token and body. */
const anyRouteRequest = fc
  .record({
    method: anyMethod,
    path: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...Object.values(ROUTES), ...UNKNOWN_PATHS) },
      { weight: 1, arbitrary: textBytes.map((bytes) => `/${bytes}`) },
      { weight: 1, arbitrary: fc.constantFrom(`/${"a".repeat(20_000)}`, "http://127.0.0.1/healthz") },
    ),
    query: fc.array(subscribeParam, { maxLength: 2 }),
    token: fc
      .option(fc.record({ spec: tokenSpec, presented: presentation }))
      .map((token) => token ?? undefined),
    body: fc.oneof(
      fc.constant(""),
      randomBody,
      jsonBody,
      fc.array(publishField, { maxLength: 3 }).map(encodeForm),
    ),
    envelope,
  })
  .map(({ method, path, query, token, body, envelope }) => ({
    ...envelope,
    method,
    path,
    query,
    token,
    body,
  }))

const resumeScenario = fc.record({
  kind: fc.constant("resume" as const),
  topic: fc.oneof(exampleTopic, unicodeText),
  id: eventIdText,
  resumeBy: fc.constantFrom(
    "header" as const,
    "header-latin1" as const,
    "query" as const,
    "legacy-query" as const,
  ),
  matchAll: fc.boolean(),
})

const subscriptionApiScenario = fc.record({
  kind: fc.constant("subscription-api" as const),
  topic: fc.oneof(exampleTopic, unicodeText),
  id: eventIdText,
  segments: fc.array(subscriptionSegment, { maxLength: 3 }),
})

/** Every kind of step, weighted so that each route gets its share. */
export const scenario: fc.Arbitrary<Scenario> = fc.oneof(
  ...[subscribeRequest, publishFormRequest, batchPublishRequest, subscriptionApiRequest, anyRouteRequest].map(
    (request) => ({ weight: 2, arbitrary: request.map((r): Scenario => ({ kind: "request", request: r })) }),
  ),
  { weight: 2, arbitrary: resumeScenario },
  { weight: 1, arbitrary: subscriptionApiScenario },
)

/** A rendered request, and whether the hub owes an answer to it (it is whole and well framed). */
export interface RenderedRequest {
  readonly bytes: Buffer
  readonly answerOwed: boolean
}

/** Turns a request into its bytes, signing its token. */
export async function renderRequest(request: FuzzRequest, context: TokenContext): Promise<RenderedRequest> {
  const headers: (readonly [string, string])[] = []
  if (request.host === "normal" || request.host === "twice") headers.push(["Host", "127.0.0.1"])
  if (request.host === "twice") headers.push(["Host", "elsewhere.test"])
  if (request.host === "garbage") headers.push(["Host", "\xff bad host"])
  const query = [...request.query]
  if (request.token !== undefined) {
    const token = await tokenBytes(request.token.spec, context)
    const presented = presentToken(token, request.token.presented)
    headers.push(...presented.headers)
    if (presented.query !== undefined)
      query.push({ name: "authorization", value: presented.query, raw: false })
  }
  headers.push(...request.headers)

  const { body, framing } = request
  let encodedBody = body
  if (framing === "length") headers.push(["Content-Length", String(body.length)])
  if (framing === "short-length") headers.push(["Content-Length", String(Math.max(0, body.length - 1))])
  if (framing === "long-length") headers.push(["Content-Length", String(body.length + 10)])
  if (framing === "length-and-chunked") headers.push(["Content-Length", String(body.length)])
  if (framing === "chunked" || framing === "length-and-chunked" || framing === "bad-chunk") {
    headers.push(["Transfer-Encoding", "chunked"])
    encodedBody = framing === "bad-chunk" ? `zz\r\n${body}\r\n` : chunked(body)
  }

  const target = request.path + queryString(query)
  const startLine = [request.method, target, request.version].filter((part) => part !== "").join(" ")
  const head = [startLine, ...headers.map(([name, value]) => `${name}: ${value}`)].join("\r\n")
  // The hub owes an answer to a whole HTTP/1.x request, framed right, whose head holds no line
  // break of ours out of place (a CR or LF inside a value ends the head where we cannot tell).
  // Not to CONNECT or an Upgrade: Node hands those to listeners the hub does not have, and closes.
  // Not after a half-close: Node's server (httpAllowHalfOpen off) ends the connection at the FIN.
  const framingHeaders = request.headers.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name))
  const wellFramed = (framing === "length" || framing === "chunked" || framing === "none") && !framingHeaders
  const tunnel = request.method === "CONNECT" || request.headers.some(([name]) => /^upgrade$/i.test(name))
  const answerOwed =
    wellFramed &&
    !tunnel &&
    /^HTTP\/1\.[01]$/.test(request.version) &&
    (request.delivery.kind === "whole" || request.delivery.kind === "slow") &&
    ![startLine, ...headers.flat()].some((part) => /[\r\n]/.test(part))
  return { bytes: toBuffer(`${head}\r\n\r\n${encodedBody}`), answerOwed }
}

/** A body in chunked transfer coding, in up to three chunks. */
function chunked(body: string): string {
  const size = Math.max(1, Math.ceil(body.length / 3))
  let out = ""
  for (let start = 0; start < body.length; start += size) {
    const piece = body.slice(start, start + size)
    out += `${piece.length.toString(16)}\r\n${piece}\r\n`
  }
  return `${out}0\r\n\r\n`
}

/** `?name=value&…`, or nothing without parameters. */
export const queryString = (query: readonly Param[]): string =>
  query.length === 0 ? "" : `?${encodeForm(query)}`

/** The headers (and query parameter) that carry a token the way `presented` says. */
function presentToken(
  token: string,
  presented: Presentation,
): { headers: (readonly [string, string])[]; query?: string } {
  switch (presented) {
    case "bearer":
      return { headers: [["Authorization", `Bearer ${token}`]] }
    case "bearer-lowercase":
      return { headers: [["Authorization", `bearer ${token}`]] }
    case "bearer-extra-spaces":
      return { headers: [["Authorization", `Bearer   ${token}  `]] }
    case "basic":
      return {
        headers: [["Authorization", `Basic ${Buffer.from(`user:${token}`, "latin1").toString("base64")}`]],
      }
    case "cookie":
      return { headers: [["Cookie", `${COOKIE_NAMES[0]}=${token}`]] }
    case "legacy-cookie":
      return { headers: [["Cookie", `other=1; ${COOKIE_NAMES[1]}="${token}"`]] }
    case "cookie-twice":
      return {
        headers: [
          ["Cookie", `${COOKIE_NAMES[0]}=${token}`],
          ["Cookie", `${COOKIE_NAMES[0]}=x`],
        ],
      }
    case "query":
      return { headers: [], query: token }
    case "header-and-query":
      return { headers: [["Authorization", `Bearer ${token}`]], query: token }
  }
}
