import { randomBytes } from "node:crypto"
import { hostname } from "node:os"
import { resolve } from "node:path"
import type { Logger } from "pino"
import type { AIHandlerOptions } from "../ai/handler.js"
import { jwksUrlProblem } from "../auth/jwks-url.js"
import { type PreparedKey, prepareKey, type TrustedKey, unusableKeyProblem } from "../auth/keys.js"
import { isLoopbackHost } from "../auth/loopback.js"
import { DEFAULT_ALGORITHMS } from "../auth/verifier.js"
import type { Engine } from "../engine/engine.js"
import type { NodeLeaseView } from "../engine/node-lease.js"
import type { HubLimits, HubOptions } from "../hub/options.js"
import { DEFAULT_SHUTDOWN_RETRY_JITTER_MS } from "../hub/settings.js"
import { DEFAULT_MAX_PIPELINED_REQUESTS } from "../server/http1-pipelining.js"
import { DEFAULT_HEARTBEAT_MS, DEFAULT_RETRY_MS } from "../server/index.js"
import type { StreamsLimits } from "../streams/limits.js"
import { type DevSecret, loadOrCreateDevSecret } from "./config/dev-secret.js"
import { type EngineSetting, maskCredentials, parseHostPort, type RedisUrl } from "./config/engine-setting.js"
import { ConfigError, type ConfigIssue } from "./config/errors.js"
import { envOf, FIELDS, type FieldKey, flagOf } from "./config/fields.js"
import { parseArgv } from "./config/flags.js"
import { resolveKey } from "./config/keys.js"
import { type RawSetting, readEnv, readFile, readFlags, type SourceReading } from "./config/sources.js"
import { DEFAULT_HTTP_TIMEOUTS, type HttpTimeouts } from "./http-server.js"
import { DEFAULT_HTTP2_LIMITS, type Http2Limits } from "./http2-guard.js"
import { isBareOrigin, MERCURE_PATH, normalizeHubUrl } from "./hub-url.js"
import { loadTlsCredentials, type TlsCredentials } from "./tls.js"

export { DEV_SECRET_FILE, type DevSecret, readDevSecret } from "./config/dev-secret.js"
export { ConfigError, type ConfigIssue } from "./config/errors.js"
export { envOf, FIELDS, type Field, type FieldGroup, type FieldKey, flagOf } from "./config/fields.js"
export { addConfigOptions, GROUP_TITLES } from "./config/flags.js"
export { parseBytes, parseDuration } from "./config/values.js"

/**
 * Where dev mode binds unless `--host` says otherwise: its tokenless access is for this machine,
 * so by default nothing else can reach it. IPv4 loopback: clients asking for `localhost` reach it
 * (where `localhost` is ::1 first, they fall back to 127.0.0.1).
 */
export const DEV_HOST = "127.0.0.1"

/**
 * The default listen backlog. Node's own (511) overflows when a thousand clients connect at once
 * (a reconnect storm, a load test): the overflow waits for TCP's SYN retries, seconds.
 */
const DEFAULT_LISTEN_BACKLOG = 4096

/** The hub path of the Mercure protocol, used in the default hub URL and given to a bare origin. */
export const DEFAULT_HUB_PATH = MERCURE_PATH

/** `herald serve`'s configuration: every source merged, validated, keys read, defaults applied. */
export interface HeraldConfig {
  readonly port: number
  /** The listen backlog: connections queued by the kernel before `accept`. */
  readonly listenBacklog: number
  /** Address to bind; `undefined` binds all interfaces (IPv6 and IPv4). Loopback in dev mode unless set. */
  readonly host: string | undefined
  /**
   * The hub's public URL, as a URL writes it (a bare origin given /.well-known/mercure: see
   * normalizeHubUrl). Follows the port when it was not set (see {@link withBoundPort}).
   */
  readonly hubUrl: string
  /** Whether {@link hubUrl} was derived from the port rather than set. */
  readonly hubUrlDerived: boolean
  readonly resource: string | undefined
  /** Tokens' required `iss`, when set: every key is bound to it. */
  readonly issuer: string | undefined
  readonly corsOrigins: readonly string[]
  /** Reverse proxies whose forwarded header names the client; empty when none are trusted. */
  readonly trustedProxies: readonly string[]
  readonly trustedProxyHeader: "x-forwarded-for" | "forwarded"
  /** The HTTP server's own timeouts (the body idle timeout is a hub limit). */
  readonly timeouts: HttpTimeouts
  /** Set: serve HTTPS, HTTP/2 with HTTP/1.1 for clients without it. Unset: plain HTTP/1.1. */
  readonly tls: TlsCredentials | undefined
  /** Bounds on each HTTP/2 connection (with {@link tls} only). */
  readonly http2: Http2Limits
  /** HTTP/1.1 requests one connection may send ahead of their answers. */
  readonly maxPipelinedRequests: number
  /** The bearer token `/metrics` requires, if any. */
  readonly metricsToken: string | undefined
  /** A port of its own for `/metrics` (and the health probes), if set. */
  readonly metricsPort: number | undefined
  /** The address the metrics port binds; `undefined`: as {@link host}. */
  readonly metricsHost: string | undefined
  readonly engine: "sqlite" | "memory" | "redis"
  /** Where Redis is, with `--engine redis://…`. */
  readonly redis: RedisTarget | undefined
  /** This process's name among the nodes sharing the engine. */
  readonly nodeId: string
  /** How long this node's lease lasts unless renewed. */
  readonly nodeLeaseMs: number
  /** Absolute. */
  readonly dataDir: string
  /** Every log's retention unless the log sets its own (the hub's log does not). */
  readonly retention: { readonly maxEvents?: number; readonly maxAgeMs?: number }
  /** The memory engine's `maxBytes`, when set. */
  readonly memoryMaxBytes: number | undefined
  readonly sync: "normal" | "full"
  readonly publishKeys: readonly TrustedKey[]
  readonly subscribeKeys: readonly TrustedKey[]
  readonly algorithms: readonly string[] | undefined
  readonly anonymous: boolean
  readonly anonymousPublish: boolean
  readonly cookieNames: readonly string[] | undefined
  readonly legacy: boolean
  readonly subscriptions: boolean
  readonly heartbeatMs: number
  readonly retryMs: number
  /** The AI models file, absolute, if set (the demo model otherwise). */
  readonly aiModels: string | undefined
  /** The AI endpoints' limits and prompt storage that were set; the AI handler's defaults otherwise. */
  readonly aiLimits: AILimitSettings
  /** The Durable Streams' limits that were set (`--streams-*`); the streams handler's defaults otherwise. */
  readonly streamsLimits: StreamsLimitSettings
  /** Only the limits that were set; the hub applies its defaults to the others. */
  readonly limits: HubLimits
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent"
  readonly shutdownTimeoutMs: number
  readonly shutdownRetryJitterMs: number
  /** Dev mode's secret, when dev mode is on. */
  readonly dev: DevMode | undefined
  /** The config file read, absolute, if any. */
  readonly configFile: string | undefined
  /** Where each setting that was given came from (`--port 9000`, `HERALD_ENGINE="memory"`, …). */
  readonly sources: Readonly<Partial<Record<FieldKey, string>>>
  /** Things worth logging at startup: ignored variables, weak secrets, risky choices. */
  readonly warnings: readonly string[]
}

/** Dev mode: its secret, trusted for publishers, and for subscribers unless they have a key of their own. */
export interface DevMode extends DevSecret {
  /** Whether subscriber tokens signed with the secret are taken: not with `--subscriber-jwt-key`. */
  readonly subscriberTokens: boolean
}

/** A Redis node's address. */
export interface HostPort {
  readonly host: string
  readonly port: number
}

/** Where the redis engine finds Redis: `--engine redis://…` and the `--redis-*` settings. */
export interface RedisTarget {
  /** The URL: the server (unless Sentinels or a Cluster say where), credentials, TLS, database. */
  readonly url: RedisUrl
  /** What logs show of it: the URL with its password masked, and how Redis is found. */
  readonly shown: string
  /** The Sentinels that say where the master is, and its name; `undefined` when not used. */
  readonly sentinels: { readonly nodes: readonly HostPort[]; readonly name: string } | undefined
  /** The seed nodes of a Cluster (the URL's first); `undefined` when Redis is no Cluster. */
  readonly clusterSeeds: readonly HostPort[] | undefined
  /** Starts every key and channel. */
  readonly keyPrefix: string
}

/** Where {@link loadConfig} reads from. */
export interface LoadConfigOptions {
  /** `herald serve`'s arguments, without `node`, the script and `serve`. */
  readonly argv?: readonly string[]
  /** Already-parsed options (commander's `opts()`), instead of `argv`. */
  readonly flags?: Readonly<Record<string, unknown>>
  /** Usually `process.env`. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** Relative paths (data dir, config file, key files) resolve against it. */
  readonly cwd: string
}

/**
 * Reads `herald serve`'s configuration. Precedence, per setting: flags, then `HERALD_<NAME>`
 * environment variables, then the JSON file given by `--config` or `HERALD_CONFIG`, then the
 * defaults. Every problem found is reported at once in a {@link ConfigError}, each naming its
 * source and setting and saying what is expected.
 *
 * Dev mode (on when no publisher key is set, unless `--no-dev` / `HERALD_DEV=false`) creates or
 * reads `<dataDir>/dev-secret` and trusts it for both roles, binds to {@link DEV_HOST} unless
 * `--host` is set, and lets local clients in without a token (docs/authorization.md, "Dev mode").
 *
 * @throws {ConfigError}
 */
export function loadConfig(options: LoadConfigOptions): HeraldConfig {
  const { env, cwd } = options
  const issues: ConfigIssue[] = []
  const parsed = options.flags ?? (options.argv === undefined ? {} : undefined)
  let flags: Readonly<Record<string, unknown>> = parsed ?? {}
  if (parsed === undefined) {
    const fromArgv = parseArgv(options.argv ?? [])
    issues.push(...fromArgv.issues)
    flags = fromArgv.flags
  }
  const configPath = typeof flags.config === "string" ? flags.config : env.HERALD_CONFIG?.trim() || undefined
  const readings: SourceReading[] = [readFlags(flags), readEnv(env)]
  if (configPath !== undefined) readings.push(readFile(configPath, cwd))
  const warnings: string[] = []
  for (const reading of readings) {
    issues.push(...reading.issues)
    warnings.push(...reading.warnings)
  }

  // Per setting, the first source that has it wins; only that value is validated, so that a
  // bad value shadowed by a higher source does not stop the hub.
  const values: Partial<Record<FieldKey, unknown>> = {}
  const sources: Partial<Record<FieldKey, string>> = {}
  const names: Partial<Record<FieldKey, string>> = {}
  for (const field of FIELDS) {
    const raw: RawSetting | undefined = readings
      .map((reading) => reading.settings.get(field.key))
      .find((setting) => setting !== undefined)
    if (raw === undefined) continue
    const result = field.type.schema.safeParse(raw.value)
    if (result.success) {
      values[field.key] = result.data
      sources[field.key] = raw.where
      names[field.key] = raw.name
    } else {
      const problem = "problem" in field.type ? field.type.problem?.(raw.value) : undefined
      const message = `expected ${field.type.expected}${problem === undefined ? "" : `: ${problem}`}`
      issues.push({ where: raw.where, message })
    }
  }
  const get = <T>(key: FieldKey): T | undefined => values[key] as T | undefined

  const port = get<number>("port") ?? 8080
  const listenBacklog = get<number>("listenBacklog") ?? DEFAULT_LISTEN_BACKLOG
  const hubUrlSetting = get<string>("hubUrl")
  const hubUrl = hubUrlSetting === undefined ? undefined : normalizeHubUrl(hubUrlSetting)
  if (hubUrlSetting !== undefined && hubUrl !== undefined && isBareOrigin(hubUrlSetting)) {
    const aud = get<string>("resource") === undefined ? ", the URL tokens' aud must name" : ""
    warnings.push(
      `${sources.hubUrl}: a bare origin: the hub answers at ${hubUrl}${aud} (give the URL with its path to silence this)`,
    )
  }
  const dataDir = resolve(cwd, get<string>("dataDir") ?? "./herald-data")
  const issuer = get<string>("jwtIssuer")
  const aiModels = get<string>("aiModels")

  const keyFor = (key: FieldKey): TrustedKey[] => {
    const value = get<string>(key)
    if (value === undefined) return []
    const resolution = resolveKey(value, cwd, issuer)
    const where = names[key] ?? key
    if (!resolution.ok) {
      issues.push({ where, message: resolution.message })
      return []
    }
    if (resolution.warning) warnings.push(`${where}: ${resolution.warning}`)
    return [resolution.key]
  }
  const shared = keyFor("jwtKey")
  const publisherOwn = keyFor("publisherJwtKey")
  const subscriberOwn = keyFor("subscriberJwtKey")
  const jwksUrl = get<string>("jwksUrl")
  const jwksProblem = jwksUrl === undefined ? undefined : jwksUrlProblem(jwksUrl)
  if (jwksProblem !== undefined) issues.push({ where: sources.jwksUrl ?? "jwksUrl", message: jwksProblem })
  const jwks: TrustedKey[] =
    jwksUrl === undefined ? [] : [{ kind: "jwks", url: jwksUrl, ...(issuer === undefined ? {} : { issuer }) }]
  const algorithms = get<string[]>("algorithms")
  const allowed = algorithms ?? DEFAULT_ALGORITHMS
  // A key that fits none of the allowed algorithms (an HMAC secret with --algorithms RS256, a
  // P-384 key with the defaults) would make a hub that refuses every token.
  const given = [
    ["jwtKey", shared],
    ["publisherJwtKey", publisherOwn],
    ["subscriberJwtKey", subscriberOwn],
    ["jwksUrl", jwksProblem === undefined ? jwks : []],
  ] as const
  for (const [setting, keys] of given) {
    for (const key of keys) {
      const where = names[setting] ?? setting
      let prepared: PreparedKey
      try {
        prepared = prepareKey(key, 0)
      } catch (error) {
        issues.push({ where, message: (error as Error).message.replace(/^keys\[0\]: /, "") })
        continue
      }
      const problem = unusableKeyProblem(prepared, allowed)
      if (problem === undefined) continue
      issues.push({
        where,
        message: `${problem}, and ${sources.algorithms ?? `the default ${flagOf("algorithms")} ${allowed.join(",")}`} allows none of them: add one to ${flagOf("algorithms")}, or give a key for ${allowed.join(", ")}`,
      })
    }
  }
  let publishKeys = [...(publisherOwn.length > 0 ? publisherOwn : shared), ...jwks]
  let subscribeKeys = [...(subscriberOwn.length > 0 ? subscriberOwn : shared), ...jwks]
  const publisherKeyGiven =
    values.jwtKey !== undefined || values.publisherJwtKey !== undefined || values.jwksUrl !== undefined

  const devSetting = get<boolean>("dev")
  const anonymousPublish = get<boolean>("anonymousPublish") ?? false
  let dev: DevMode | undefined
  if (!publisherKeyGiven && devSetting !== false) {
    if (!allowed.includes("HS256")) {
      issues.push({
        where: sources.algorithms ?? flagOf("algorithms"),
        message: `dev mode signs its tokens with HS256, which ${allowed.join(",")} leaves out: add HS256, or give a key (${flagOf("jwtKey")}) for the algorithms you allow`,
      })
    } else if (issues.length === 0) {
      try {
        dev = { ...loadOrCreateDevSecret(dataDir), subscriberTokens: subscriberOwn.length === 0 }
      } catch (error) {
        issues.push({
          where: sources.dataDir ?? `data directory ${dataDir}`,
          message: `cannot keep the dev secret there: ${(error as Error).message}`,
        })
      }
    }
    if (dev !== undefined) {
      const key: TrustedKey = {
        kind: "secret",
        secret: dev.secret,
        ...(issuer === undefined ? {} : { issuer }),
      }
      publishKeys = [key]
      if (dev.subscriberTokens) subscribeKeys = [key]
    }
  } else if (!publisherKeyGiven && !anonymousPublish) {
    issues.push({
      where: sources.dev ?? "config",
      message:
        "dev mode is off and no publisher key is set, so nobody could publish. Set a key " +
        `(${flagOf("jwtKey")} / ${envOf("jwtKey")}, ${flagOf("publisherJwtKey")}, or ${flagOf("jwksUrl")}), ` +
        `allow ${flagOf("anonymousPublish")} (with ${flagOf("anonymous")} for tokenless subscribers) on a trusted network, or drop ${sources.dev ?? "--no-dev"} for dev mode`,
    })
  } else if (devSetting === true) {
    warnings.push(`${sources.dev}: ignored, a publisher key is set (dev mode only applies without keys)`)
  }

  const tls = readTls(values, sources, cwd, issues, warnings)

  const metricsPort = get<number>("metricsPort")
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === port) {
    issues.push({
      where: sources.metricsPort ?? "metricsPort",
      message: `the metrics port must differ from the main port (${port}); drop it to serve /metrics on the main port`,
    })
  }
  if (values.metricsHost !== undefined && metricsPort === undefined) {
    warnings.push(
      `${sources.metricsHost}: ignored, it applies to the metrics port (${flagOf("metricsPort")}), which is not set`,
    )
  }

  const engineSetting = get<EngineSetting>("engine") ?? "sqlite"
  const redis = readRedisTarget(engineSetting, values, sources, issues)

  if (issues.length > 0) throw new ConfigError(issues)

  const engine = typeof engineSetting === "string" ? engineSetting : "redis"
  if (engine === "memory") warnings.push("engine memory: updates are lost when the hub stops")
  // Accepted, but for a setup this one is not: say so rather than let it be thought in force.
  const ignored = (key: FieldKey, because: string) => {
    if (values[key] !== undefined) warnings.push(`${sources[key]}: ignored, ${because}`)
  }
  if (engine !== "memory")
    ignored("memoryMaxBytes", `it bounds the memory engine, and the engine is ${engine}`)
  if (engine !== "sqlite")
    ignored("sync", `it sets the sqlite engine's durability, and the engine is ${engine}`)
  if (get<string[]>("trustedProxies") === undefined)
    ignored(
      "trustedProxyHeader",
      `it is read only from the proxies ${flagOf("trustedProxies")} names, and none is set`,
    )
  if (tls === undefined) {
    for (const key of ["maxConcurrentStreams", "maxStreamResetsPerSecond"] as const)
      ignored(
        key,
        `it bounds HTTP/2, which herald serve speaks only with TLS (${flagOf("tlsCert")}), not set`,
      )
  }
  if (anonymousPublish) warnings.push("anonymous publishing is on: anyone who can reach the hub can publish")
  if (dev === undefined && subscribeKeys.length === 0 && get<boolean>("anonymous") !== true) {
    warnings.push(
      `no key verifies subscriber tokens and ${flagOf("anonymous")} is off: nobody can subscribe. Set a key ` +
        `(${flagOf("jwtKey")}, ${flagOf("subscriberJwtKey")} or ${flagOf("jwksUrl")}), or ${flagOf("anonymous")} for public updates`,
    )
  }
  const host = get<string>("host")
  if (dev !== undefined && host !== undefined && !isLoopbackHost(host)) {
    warnings.push(
      `dev mode on ${sources.host}: other machines can reach the hub; they need a token, and the dev tokens grant everything`,
    )
  }
  if (get<string[]>("corsOrigins")?.includes("*")) {
    warnings.push(
      'CORS origin "*": any site may read public updates from a browser; cookies authorize only the origins listed by name',
    )
  }

  /** The options `keys` map settings to, those set only. */
  const optionsSet = (keys: readonly (readonly [string, FieldKey])[]): Record<string, number | boolean> =>
    Object.fromEntries(
      keys.flatMap(([option, key]) => {
        const value = get<number | boolean>(key)
        return value === undefined ? [] : [[option, value]]
      }),
    )
  const limits: Record<string, number> = {}
  for (const key of [
    "maxBodyBytes",
    "maxBodyDepth",
    "maxBodyKeys",
    "maxBodyValues",
    "maxTopicsPerUpdate",
    "maxUpdatesPerRequest",
    "maxMatchersPerSubscription",
    "maxPatternMatchersPerAddress",
    "maxPatternLength",
    "maxConnectionsPerAddress",
    "ipv6PrefixLength",
    "maxConnections",
    "maxQueuedBytes",
    "maxConcurrentReplays",
    "maxQueuedReplays",
  ] as const) {
    const value = get<number>(key)
    if (value !== undefined) limits[key] = value
  }
  const maxConnectionMs = get<number>("maxConnectionTime")
  if (maxConnectionMs !== undefined) limits.maxConnectionMs = maxConnectionMs
  const bodyIdleTimeoutMs = get<number>("bodyIdleTimeout")
  if (bodyIdleTimeoutMs !== undefined) limits.bodyIdleTimeoutMs = bodyIdleTimeoutMs

  const retention: { maxEvents?: number; maxAgeMs?: number } = {}
  const maxEvents = get<number>("retentionMaxEvents")
  const maxAgeMs = get<number>("retentionMaxAge")
  if (maxEvents !== undefined) retention.maxEvents = maxEvents
  if (maxAgeMs !== undefined) retention.maxAgeMs = maxAgeMs

  return {
    port,
    listenBacklog,
    host: host ?? (dev === undefined ? undefined : DEV_HOST),
    hubUrl: hubUrl ?? defaultHubUrl(port, tls !== undefined),
    hubUrlDerived: hubUrl === undefined,
    resource: get<string>("resource"),
    issuer,
    corsOrigins: (get<string[]>("corsOrigins") ?? []).map((origin) => origin.replace(/\/$/, "")),
    trustedProxies: get<string[]>("trustedProxies") ?? [],
    trustedProxyHeader: get<HeraldConfig["trustedProxyHeader"]>("trustedProxyHeader") ?? "x-forwarded-for",
    timeouts: {
      headersTimeoutMs: get<number>("headersTimeout") ?? DEFAULT_HTTP_TIMEOUTS.headersTimeoutMs,
      keepAliveTimeoutMs: get<number>("keepAliveTimeout") ?? DEFAULT_HTTP_TIMEOUTS.keepAliveTimeoutMs,
    },
    tls,
    http2: {
      maxConcurrentStreams: get<number>("maxConcurrentStreams") ?? DEFAULT_HTTP2_LIMITS.maxConcurrentStreams,
      maxStreamResetsPerSecond:
        get<number>("maxStreamResetsPerSecond") ?? DEFAULT_HTTP2_LIMITS.maxStreamResetsPerSecond,
    },
    maxPipelinedRequests: get<number>("maxPipelinedRequests") ?? DEFAULT_MAX_PIPELINED_REQUESTS,
    metricsToken: get<string>("metricsToken"),
    metricsPort,
    metricsHost: get<string>("metricsHost"),
    engine,
    redis,
    nodeId: get<string>("nodeId") ?? defaultNodeId(),
    nodeLeaseMs: get<number>("nodeLease") ?? DEFAULT_NODE_LEASE_MS,
    dataDir,
    retention,
    memoryMaxBytes: get<number>("memoryMaxBytes"),
    sync: get<"normal" | "full">("sync") ?? "normal",
    publishKeys,
    subscribeKeys,
    algorithms,
    anonymous: get<boolean>("anonymous") ?? false,
    anonymousPublish,
    cookieNames: get<string[]>("cookieNames"),
    legacy: get<boolean>("legacy") ?? true,
    subscriptions: get<boolean>("subscriptions") ?? false,
    heartbeatMs: get<number>("heartbeat") ?? DEFAULT_HEARTBEAT_MS,
    retryMs: get<number>("retry") ?? DEFAULT_RETRY_MS,
    aiModels: aiModels === undefined ? undefined : resolve(cwd, aiModels),
    aiLimits: optionsSet(AI_LIMIT_KEYS),
    streamsLimits: optionsSet(STREAMS_LIMIT_KEYS),
    limits,
    logLevel: get<HeraldConfig["logLevel"]>("logLevel") ?? "info",
    shutdownTimeoutMs: get<number>("shutdownTimeout") ?? 10_000,
    shutdownRetryJitterMs: get<number>("shutdownRetryJitter") ?? DEFAULT_SHUTDOWN_RETRY_JITTER_MS,
    dev,
    configFile: configPath === undefined ? undefined : resolve(cwd, configPath),
    sources,
    warnings,
  }
}

/** The AI handler's options the `--ai-*` limit settings set. */
export type AILimitSettings = Partial<
  Pick<
    AIHandlerOptions,
    | "maxConcurrentPerSubject"
    | "maxPerMinutePerSubject"
    | "maxOutputTokens"
    | "maxMessages"
    | "maxContentParts"
    | "maxBodyBytes"
    | "maxBodyDepth"
    | "maxBodyKeys"
    | "maxBodyValues"
    | "storePrompts"
    | "rememberReasoning"
  >
>

/** Each AI handler option of {@link AILimitSettings} and the setting that sets it. */
const AI_LIMIT_KEYS: readonly (readonly [keyof AILimitSettings, FieldKey])[] = [
  ["maxConcurrentPerSubject", "aiMaxConcurrent"],
  ["maxPerMinutePerSubject", "aiMaxPerMinute"],
  ["maxOutputTokens", "aiMaxOutputTokens"],
  ["maxMessages", "aiMaxMessages"],
  ["maxContentParts", "aiMaxContentParts"],
  ["maxBodyBytes", "aiMaxBodyBytes"],
  ["maxBodyDepth", "aiMaxBodyDepth"],
  ["maxBodyKeys", "aiMaxBodyKeys"],
  ["maxBodyValues", "aiMaxBodyValues"],
  ["storePrompts", "aiStorePrompts"],
  ["rememberReasoning", "aiRememberReasoning"],
]

/** The streams handler's limits the `--streams-*` settings set. */
export type StreamsLimitSettings = Partial<
  Pick<
    StreamsLimits,
    | "maxStreams"
    | "maxBodyBytes"
    | "maxBodyDepth"
    | "maxBodyKeys"
    | "maxBodyValues"
    | "longPollTimeoutMs"
    | "sseLifetimeMs"
    | "maxQueuedBytes"
    | "maxReadBytes"
  >
>

/** Each streams limit of {@link StreamsLimitSettings} and the setting that sets it. */
const STREAMS_LIMIT_KEYS: readonly (readonly [keyof StreamsLimitSettings, FieldKey])[] = [
  ["maxStreams", "streamsMaxStreams"],
  ["maxBodyBytes", "streamsMaxBodyBytes"],
  ["maxBodyDepth", "streamsMaxBodyDepth"],
  ["maxBodyKeys", "streamsMaxBodyKeys"],
  ["maxBodyValues", "streamsMaxBodyValues"],
  ["longPollTimeoutMs", "streamsLongPollTimeout"],
  ["sseLifetimeMs", "streamsSseLifetime"],
  ["maxQueuedBytes", "streamsMaxQueuedBytes"],
  ["maxReadBytes", "streamsMaxReadBytes"],
]

/** How long a node's lease lasts unless renewed, by default. */
export const DEFAULT_NODE_LEASE_MS = 10_000

/** `<hostname>-<pid>-<random>`: unique among the nodes, and says which process it is. */
function defaultNodeId(): string {
  const host = hostname().replace(/[^\x21-\x7e]/g, "") || "node"
  return `${host.slice(0, 100)}-${process.pid}-${randomBytes(3).toString("hex")}`
}

/** The `--redis-*` settings that make sense only with a Redis engine. */
const REDIS_ONLY = [
  "redisSentinels",
  "redisSentinelName",
  "redisCluster",
  "redisClusterSeeds",
  "redisKeyPrefix",
] as const

/**
 * Where Redis is, from `--engine redis://…` and the `--redis-*` settings, or `undefined` for
 * another engine. Settings that contradict each other are issues: a hub that would start on
 * another Redis (or another engine) than the operator meant is worse than one that does not start.
 */
function readRedisTarget(
  engine: EngineSetting,
  values: Partial<Record<FieldKey, unknown>>,
  sources: Partial<Record<FieldKey, string>>,
  issues: ConfigIssue[],
): RedisTarget | undefined {
  const where = (key: FieldKey) => sources[key] ?? key
  if (typeof engine === "string") {
    for (const key of REDIS_ONLY) {
      // `--no-redis-cluster` asks for nothing: harmless on any engine.
      if (values[key] !== undefined && values[key] !== false)
        issues.push({
          where: where(key),
          message: `applies to a Redis engine only (${flagOf("engine")} redis://…)`,
        })
    }
    return undefined
  }
  const addresses = (key: FieldKey): HostPort[] | undefined =>
    (values[key] as string[] | undefined)?.map((item) => parseHostPort(item) as HostPort)
  const sentinelNodes = addresses("redisSentinels")
  const sentinelName = values.redisSentinelName as string | undefined
  const cluster = values.redisCluster === true
  const seeds = addresses("redisClusterSeeds")
  let sentinels: RedisTarget["sentinels"]
  if (sentinelNodes !== undefined && sentinelName !== undefined)
    sentinels = { nodes: sentinelNodes, name: sentinelName }
  else if (sentinelNodes !== undefined)
    issues.push({
      where: where("redisSentinels"),
      message: `needs the master's name: set ${flagOf("redisSentinelName")} too`,
    })
  else if (sentinelName !== undefined)
    issues.push({
      where: where("redisSentinelName"),
      message: `needs the Sentinels: set ${flagOf("redisSentinels")} too`,
    })
  if (cluster && sentinelNodes !== undefined)
    issues.push({
      where: where("redisCluster"),
      message: `a Cluster has no Sentinels: drop ${flagOf("redisSentinels")} or this`,
    })
  if (seeds !== undefined && !cluster)
    issues.push({
      where: where("redisClusterSeeds"),
      message: `seeds a Cluster: set ${flagOf("redisCluster")} too`,
    })
  if (cluster && engine.db !== 0)
    issues.push({
      where: where("engine"),
      message: `a Redis Cluster has database 0 only; drop /${engine.db} from the URL`,
    })
  const masked = maskCredentials(engine.url)
  return {
    url: engine,
    shown:
      sentinels !== undefined
        ? `${masked} (master "${sentinels.name}" of Sentinels ${sentinelNodes?.map(({ host, port }) => `${host}:${port}`).join(",")})`
        : cluster
          ? `${masked} (Cluster)`
          : masked,
    sentinels,
    clusterSeeds: cluster ? [{ host: engine.host, port: engine.port }, ...(seeds ?? [])] : undefined,
    keyPrefix: (values.redisKeyPrefix as string | undefined) ?? "herald",
  }
}

function defaultHubUrl(port: number, tls: boolean): string {
  return `${tls ? "https" : "http"}://localhost:${port}${DEFAULT_HUB_PATH}`
}

/**
 * The TLS credentials when `--tls-cert` and `--tls-key` are both set; an issue when only one
 * is, or when the files are no certificate and key for each other.
 */
function readTls(
  values: Partial<Record<FieldKey, unknown>>,
  sources: Partial<Record<FieldKey, string>>,
  cwd: string,
  issues: ConfigIssue[],
  warnings: string[],
): TlsCredentials | undefined {
  const cert = values.tlsCert as string | undefined
  const key = values.tlsKey as string | undefined
  if (cert === undefined && key === undefined) return undefined
  if (cert === undefined || key === undefined) {
    const [given, missing] =
      cert === undefined ? (["tlsKey", "tlsCert"] as const) : (["tlsCert", "tlsKey"] as const)
    issues.push({
      where: sources[given] ?? given,
      message: `TLS needs a certificate and its key: set ${flagOf(missing)} / ${envOf(missing)} too`,
    })
    return undefined
  }
  const loading = loadTlsCredentials(cert, key, cwd)
  if (!loading.ok) {
    issues.push({ where: sources[loading.setting] ?? loading.setting, message: loading.message })
    return undefined
  }
  if (loading.warning !== undefined) warnings.push(loading.warning)
  return loading.credentials
}

/**
 * The configuration once the server is bound: with port 0 the system picked one, and a hub URL
 * that was derived from the port must name the real one (tokens' `aud` is checked against it).
 */
export function withBoundPort(config: HeraldConfig, port: number): HeraldConfig {
  return {
    ...config,
    port,
    hubUrl: config.hubUrlDerived ? defaultHubUrl(port, config.tls !== undefined) : config.hubUrl,
  }
}

/** The resource identifier tokens must carry in `aud`: the configured one, else the hub URL. */
export function resourceOf(config: HeraldConfig): string {
  return config.resource ?? config.hubUrl
}

/**
 * The hub's options from a configuration, an engine built from it, the process's logger, and
 * the node's lease (which makes the subscription API hub-wide).
 */
export function toHubOptions(
  config: HeraldConfig,
  engine: Engine,
  logger: Logger,
  node?: NodeLeaseView,
): HubOptions {
  const algorithms = config.algorithms === undefined ? {} : { algorithms: config.algorithms }
  return {
    engine,
    hubUrl: config.hubUrl,
    ...(config.resource === undefined ? {} : { resource: config.resource }),
    publish: { keys: config.publishKeys, ...algorithms },
    subscribe: { keys: config.subscribeKeys, ...algorithms },
    allowAnonymousSubscribe: config.anonymous,
    allowAnonymousPublish: config.anonymousPublish,
    trustLocalClients: config.dev !== undefined,
    legacy: config.legacy,
    ...(config.cookieNames === undefined ? {} : { cookieNames: config.cookieNames }),
    corsOrigins: config.corsOrigins,
    trustedProxies: config.trustedProxies,
    trustedProxyHeader: config.trustedProxyHeader,
    shutdownRetryJitterMs: config.shutdownRetryJitterMs,
    subscriptions: config.subscriptions,
    ...(node === undefined ? {} : { node }),
    heartbeatMs: config.heartbeatMs,
    retryMs: config.retryMs,
    limits: config.limits,
    logger,
  }
}
