import type { Server } from "node:http"
import { SignJWT } from "jose"
import { serveMounts } from "../../src/cli/mounts.js"
import { createRouter } from "../../src/cli/router.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { createHub, type Hub } from "../../src/hub/hub.js"
import type { HubOptions } from "../../src/hub/options.js"
import { defaultLogger } from "../../src/logger.js"
import { listen, stop } from "../server/helpers.js"

export const SECRET = "test-secret-with-enough-entropy-0123456789"
export const ISSUER = "https://publisher.test"

/** A hub on a memory engine, listening on loopback, with one HS256 key for both roles. */
export interface TestHub {
  readonly hub: Hub
  readonly server: Server
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  /** The hub URL (`<origin>/.well-known/mercure`), also the token audience. */
  readonly hubUrl: string
  close(): Promise<void>
}

/**
 * Starts a hub mounted as `herald serve` mounts it (with /healthz, /readyz and an open /metrics
 * beside it, behind the router's error boundary).
 */
export async function startHub(options: Partial<HubOptions> = {}): Promise<TestHub> {
  let router: ReturnType<typeof createRouter> | undefined
  const { server, url } = await listen((request, response) => router?.(request, response))
  const hubUrl = `${url}/.well-known/mercure`
  const key = { kind: "secret" as const, secret: SECRET }
  const hub = createHub({
    engine: createMemoryEngine(),
    hubUrl,
    publish: { keys: [key] },
    subscribe: { keys: [key] },
    heartbeatMs: 0,
    ...options,
  })
  const logger = options.logger ?? defaultLogger()
  const mounts = serveMounts({
    hub,
    hubPath: "/.well-known/mercure",
    metricsAccess: { token: undefined, loopbackOnly: false },
    metricsPort: undefined,
  })
  router = createRouter(mounts.main, logger)
  return {
    hub,
    server,
    origin: url,
    hubUrl,
    async close() {
      await hub.close({ deadlineMs: 500 })
      await stop(server)
    },
  }
}

/** Claims of a draft-08 access token; `actions` per topic matcher list. */
export interface TokenSpec {
  publish?: Array<string | { match: string; match_type?: string }>
  subscribe?: Array<string | { match: string; match_type?: string }>
  payload?: unknown
  audience?: string | string[]
  expiresInSec?: number
  issuer?: string
  typ?: string
  secret?: string
  claims?: Record<string, unknown>
}

/** Signs a draft-08 `at+jwt` token for `hubUrl` with the test secret. */
export async function token(hubUrl: string, spec: TokenSpec = {}): Promise<string> {
  const details: unknown[] = []
  const topics = (list: TokenSpec["publish"]) =>
    (list ?? []).map((entry) => (typeof entry === "string" ? { match: entry } : entry))
  if (spec.publish)
    details.push({
      type: "https://mercure.rocks/authorization-detail",
      actions: ["publish"],
      topics: topics(spec.publish),
    })
  if (spec.subscribe) {
    details.push({
      type: "https://mercure.rocks/authorization-detail",
      actions: ["subscribe"],
      topics: topics(spec.subscribe),
      ...(spec.payload === undefined ? {} : { payload: spec.payload }),
    })
  }
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ authorization_details: details, client_id: "test", ...spec.claims })
    .setProtectedHeader({ alg: "HS256", typ: spec.typ ?? "at+jwt" })
    .setIssuer(spec.issuer ?? ISSUER)
    .setSubject("urn:test:subject")
    .setAudience(spec.audience ?? hubUrl)
    .setIssuedAt(now)
    .setExpirationTime(now + (spec.expiresInSec ?? 600))
    .setJti(crypto.randomUUID())
    .sign(new TextEncoder().encode(spec.secret ?? SECRET))
}

/** Signs a pre-standardization token: the `mercure` claim, plain `JWT` type, no audience. */
export async function legacyToken(
  claim: { publish?: string[]; subscribe?: string[]; payload?: unknown },
  expiresInSec?: number,
) {
  const jwt = new SignJWT({ mercure: claim }).setProtectedHeader({ alg: "HS256", typ: "JWT" })
  if (expiresInSec !== undefined) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSec)
  return jwt.sign(new TextEncoder().encode(SECRET))
}

/** POSTs a form-encoded update. */
export async function publish(
  hubUrl: string,
  fields: Array<[string, string]> | Record<string, string>,
  bearer?: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const body = new URLSearchParams(fields as Record<string, string>)
  return fetch(hubUrl, {
    method: "POST",
    body,
    headers: { ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }), ...headers },
  })
}

/** The subscribe URL for `match` parameters (and others). */
export function subscribeUrl(hubUrl: string, params: Array<[string, string]>): string {
  const url = new URL(hubUrl)
  for (const [name, value] of params) url.searchParams.append(name, value)
  return url.href
}
