import { DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_JSON_KEYS, DEFAULT_MAX_JSON_VALUES } from "../auth/json-depth.js"
import { DEFAULT_COOKIE_NAMES } from "../auth/presentation.js"
import { defaultLogger, type Logger } from "../logger.js"
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS } from "../server/admission.js"
import { DEFAULT_BODY_IDLE_TIMEOUT_MS } from "../server/body.js"
import { DEFAULT_IPV6_PREFIX_LENGTH } from "../server/client-network.js"
import { DEFAULT_HEARTBEAT_MS, DEFAULT_MAX_QUEUED_BYTES, DEFAULT_RETRY_MS } from "../server/index.js"
import { assertTimerDelay } from "../timer-delay.js"
import type { HubLimits, HubOptions } from "./options.js"

/** {@link HubLimits} with every default applied. */
export type ResolvedLimits = Required<HubLimits>

/** {@link HubOptions} resolved once at startup: defaults applied, URLs parsed, values checked. */
export interface HubSettings {
  readonly hubUrl: URL
  /** The hub URL's path, without a trailing slash: where subscribe and publish are answered. */
  readonly hubPath: string
  readonly resource: string
  /** Where the OAuth protected resource metadata is served (RFC 9728: well-known prefix + hub path). */
  readonly metadataPath: string
  readonly metadataUrl: string
  readonly legacy: boolean
  readonly allowAnonymousSubscribe: boolean
  readonly allowAnonymousPublish: boolean
  readonly trustLocalClients: boolean
  readonly cookieNames: readonly string[]
  readonly corsOrigins: readonly string[]
  readonly subscriptions: boolean
  readonly heartbeatMs: number
  readonly retryMs: number
  readonly shutdownRetryJitterMs: number
  readonly limits: ResolvedLimits
  readonly logger: Logger
}

export const DEFAULT_HUB_URL = "http://localhost:8080/.well-known/mercure"

/**
 * The default `maxPatternMatchersPerAddress` per connection an address may open: it follows a
 * raised `maxConnectionsPerAddress` (a proxy or a server-side renderer opening many streams from
 * one address, each with a template or two) without a second setting to raise.
 */
const PATTERN_MATCHERS_PER_CONNECTION = 4

export const DEFAULT_LIMITS: ResolvedLimits = Object.freeze({
  maxBodyBytes: 1024 * 1024,
  maxBodyDepth: DEFAULT_MAX_JSON_DEPTH,
  maxBodyKeys: DEFAULT_MAX_JSON_KEYS,
  maxBodyValues: DEFAULT_MAX_JSON_VALUES,
  maxTopicsPerUpdate: 64,
  maxUpdatesPerRequest: 10_000,
  maxMatchersPerSubscription: 64,
  maxPatternMatchersPerAddress: PATTERN_MATCHERS_PER_CONNECTION * DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  maxPatternLength: 1024,
  maxConnectionsPerAddress: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  ipv6PrefixLength: DEFAULT_IPV6_PREFIX_LENGTH,
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  maxQueuedBytes: DEFAULT_MAX_QUEUED_BYTES,
  maxConnectionMs: 24 * 60 * 60 * 1000,
  maxConcurrentReplays: 64,
  maxQueuedReplays: 1024,
  bodyIdleTimeoutMs: DEFAULT_BODY_IDLE_TIMEOUT_MS,
})

export const DEFAULT_SHUTDOWN_RETRY_JITTER_MS = 5000

/** Applies defaults and checks every value; throws a `RangeError` naming the option at fault. */
export function resolveSettings(options: HubOptions): HubSettings {
  let hubUrl: URL
  try {
    hubUrl = new URL(options.hubUrl ?? DEFAULT_HUB_URL)
  } catch {
    throw new RangeError(`hubUrl must be an absolute URL such as ${DEFAULT_HUB_URL}; got ${options.hubUrl}.`)
  }
  const hubPath = hubUrl.pathname.replace(/\/+$/, "") || "/"
  const metadataPath = `/.well-known/oauth-protected-resource${hubPath === "/" ? "" : hubPath}`
  const limits = { ...DEFAULT_LIMITS }
  for (const [name, value] of Object.entries(options.limits ?? {})) {
    if (!(name in DEFAULT_LIMITS)) throw new RangeError(`limits.${name} is not a hub limit.`)
    if (value === undefined) continue
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`limits.${name} must be a positive integer; got ${value}.`)
    }
    if (name === "ipv6PrefixLength" && value > 128) {
      throw new RangeError(`limits.ipv6PrefixLength is a number of bits, 1 to 128; got ${value}.`)
    }
    if (name === "bodyIdleTimeoutMs") assertTimerDelay("limits.bodyIdleTimeoutMs", value)
    limits[name as keyof ResolvedLimits] = value
  }
  if (options.limits?.maxPatternMatchersPerAddress === undefined) {
    limits.maxPatternMatchersPerAddress = PATTERN_MATCHERS_PER_CONNECTION * limits.maxConnectionsPerAddress
  }
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS
  const retryMs = options.retryMs ?? DEFAULT_RETRY_MS
  const shutdownRetryJitterMs = options.shutdownRetryJitterMs ?? DEFAULT_SHUTDOWN_RETRY_JITTER_MS
  for (const [name, value] of [
    ["heartbeatMs", heartbeatMs],
    ["retryMs", retryMs],
    ["shutdownRetryJitterMs", shutdownRetryJitterMs],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`${name} must be a non-negative integer; got ${value}.`)
    }
  }
  return {
    hubUrl,
    hubPath,
    resource: options.resource ?? hubUrl.href,
    metadataPath,
    metadataUrl: new URL(metadataPath, hubUrl).href,
    legacy: options.legacy ?? true,
    allowAnonymousSubscribe: options.allowAnonymousSubscribe ?? false,
    allowAnonymousPublish: options.allowAnonymousPublish ?? false,
    trustLocalClients: options.trustLocalClients ?? false,
    cookieNames: options.cookieNames ?? DEFAULT_COOKIE_NAMES,
    corsOrigins: options.corsOrigins ?? [],
    subscriptions: options.subscriptions ?? false,
    heartbeatMs,
    retryMs,
    shutdownRetryJitterMs,
    limits,
    logger: options.logger ?? defaultLogger(),
  }
}
