import { z } from "zod"
import { DEFAULT_COOKIE_NAMES } from "../../auth/presentation.js"
import { isProxyRange } from "../../server/client-address.js"
import { DEFAULT_HEARTBEAT_MS, DEFAULT_RETRY_MS } from "../../server/index.js"
import { DEFAULT_LIMITS as STREAMS_DEFAULTS } from "../../streams/limits.js"
import { engineSetting, maskCredentials, parseHostPort } from "./engine-setting.js"
import {
  boolean,
  bytes,
  count,
  duration,
  httpUrl,
  integer,
  list,
  oneOf,
  origin,
  port,
  text,
  type ValueType,
} from "./values.js"

/**
 * Every setting of `herald serve`, once: its name in a config file, its flag, its environment
 * variable, its type and its help. The flags, the env names, the file's keys, `--help` and
 * docs/cli.md all come from this table, so they cannot drift apart.
 */

/** One setting. */
export interface Field<T = unknown> {
  /** The key in a config file, camelCase. The flag is its kebab-case, the env var its UPPER_SNAKE. */
  readonly key: string
  readonly type: ValueType<T>
  /** Placeholder in `--help` (`<n>`); absent for on/off settings, which get `--x` and `--no-x`. */
  readonly arg?: string
  /** One line for `--help`. */
  readonly help: string
  /** The default, as shown in `--help` (the value itself is applied by {@link loadConfig}). */
  readonly shownDefault?: string
  /** Key material: its value is never shown in messages. */
  readonly secret?: boolean
  /** Masks what must not be shown of a value (a URL's password) in messages. */
  readonly redact?: (value: string) => string
  /** Section in docs and help. */
  readonly group: FieldGroup
}

/** Sections of the settings, in help order. */
export type FieldGroup =
  | "server"
  | "storage"
  | "auth"
  | "protocol"
  | "ai"
  | "streams"
  | "limits"
  | "timeouts"
  | "process"

const field = <T>(spec: Field<T>): Field<T> => spec

const hostPort = z.string().refine((value) => parseHostPort(value) !== undefined)

/** The settings, in help order. */
export const FIELDS = [
  // server
  field({
    key: "port",
    type: port,
    arg: "<port>",
    help: "TCP port to listen on",
    shownDefault: "8080",
    group: "server",
  }),
  field({
    key: "listenBacklog",
    type: count,
    arg: "<n>",
    help: "connections the kernel queues before they are accepted (capped by net.core.somaxconn)",
    shownDefault: "4096",
    group: "server",
  }),
  field({
    key: "host",
    type: text("a host name or IP address"),
    arg: "<host>",
    help: "address to bind",
    shownDefault: "127.0.0.1 in dev mode, else all interfaces",
    group: "server",
  }),
  field({
    key: "hubUrl",
    type: httpUrl,
    arg: "<url>",
    help: "the hub's public URL; its path is where the hub answers; a bare origin gets /.well-known/mercure",
    shownDefault: "http(s)://localhost:<port>/.well-known/mercure (https with --tls-cert)",
    group: "server",
  }),
  field({
    key: "tlsCert",
    type: text("the path of a PEM certificate file"),
    arg: "<file>",
    help: "serve HTTPS with HTTP/2 (and HTTP/1.1 for older clients): PEM certificate chain; needs --tls-key",
    shownDefault: "none: plain HTTP/1.1",
    group: "server",
  }),
  field({
    key: "tlsKey",
    type: text("the path of a PEM private key file"),
    arg: "<file>",
    help: "the PEM private key of --tls-cert (unencrypted)",
    shownDefault: "none",
    group: "server",
  }),
  field({
    key: "corsOrigins",
    type: list("a comma-separated list of origins (scheme://host[:port]) or *", origin),
    arg: "<origins>",
    help: "origins allowed by CORS on the hub, the Durable Streams and the AI endpoints, comma-separated, or * for any (without credentials)",
    shownDefault: "none",
    group: "server",
  }),
  field({
    key: "trustedProxies",
    type: list(
      "a comma-separated list of IP addresses and CIDR ranges (10.0.0.0/8, ::1, 2001:db8::/32)",
      z.string().refine(isProxyRange),
    ),
    arg: "<addresses>",
    help: "reverse proxies (IP addresses, CIDR ranges) whose --trusted-proxy-header names the client",
    shownDefault: "none",
    group: "server",
  }),
  field({
    key: "trustedProxyHeader",
    type: oneOf(["x-forwarded-for", "forwarded"] as const),
    arg: "<header>",
    help: "the header the trusted proxies set: x-forwarded-for or forwarded (RFC 7239)",
    shownDefault: "x-forwarded-for",
    group: "server",
  }),
  field({
    key: "metricsToken",
    secret: true,
    type: text("a token"),
    arg: "<token>",
    help: "bearer token /metrics requires (Authorization: Bearer <token>)",
    shownDefault: "none: open to loopback clients only",
    group: "server",
  }),
  field({
    key: "metricsPort",
    type: port,
    arg: "<port>",
    help: "serve /metrics (and /healthz, /readyz) on this port instead of the main one",
    shownDefault: "the main port",
    group: "server",
  }),
  field({
    key: "metricsHost",
    type: text("a host name or IP address"),
    arg: "<host>",
    help: "address the metrics port binds",
    shownDefault: "as --host",
    group: "server",
  }),
  // storage
  field({
    key: "engine",
    type: engineSetting,
    arg: "<engine>",
    help: "where logs live: sqlite (durable, in --data-dir), memory, or the Redis every node shares: redis://[user:password@]host:port[/db] (rediss:// for TLS)",
    shownDefault: "sqlite",
    redact: maskCredentials,
    group: "storage",
  }),
  field({
    key: "redisSentinels",
    type: list("a comma-separated list of host:port", hostPort),
    arg: "<addresses>",
    help: "ask these Sentinels (host:port, comma-separated) where the Redis master is; the --engine URL then gives only the password and db",
    shownDefault: "none",
    group: "storage",
  }),
  field({
    key: "redisSentinelName",
    type: text("the name of a master the Sentinels watch"),
    arg: "<name>",
    help: "the master's name the Sentinels know (with --redis-sentinels)",
    shownDefault: "none",
    group: "storage",
  }),
  field({
    key: "redisCluster",
    type: boolean,
    help: "the Redis is a Cluster: the --engine URL's host:port is a seed node",
    shownDefault: "off",
    group: "storage",
  }),
  field({
    key: "redisClusterSeeds",
    type: list("a comma-separated list of host:port", hostPort),
    arg: "<addresses>",
    help: "more Cluster seed nodes (host:port, comma-separated) besides the --engine URL's (with --redis-cluster)",
    shownDefault: "none",
    group: "storage",
  }),
  field({
    key: "redisKeyPrefix",
    type: {
      schema: z
        .string()
        .trim()
        .regex(/^[^{}\s]+$/),
      expected: "a non-empty string without braces or spaces",
    },
    arg: "<prefix>",
    help: "starts every Redis key and channel, so that several hubs can share one Redis",
    shownDefault: "herald",
    group: "storage",
  }),
  field({
    key: "dataDir",
    type: text("a directory path"),
    arg: "<dir>",
    help: "directory for the database and the dev secret",
    shownDefault: "./herald-data",
    group: "storage",
  }),
  field({
    key: "retentionMaxEvents",
    type: count,
    arg: "<n>",
    help: "most updates kept for replay",
    // The engines' own defaults (SQLITE_RETENTION_DEFAULTS, RETENTION_DEFAULTS; a test keeps them in step).
    shownDefault: "sqlite 1000000, memory 10000, redis 10000",
    group: "storage",
  }),
  field({
    key: "retentionMaxAge",
    // Compared with timestamps, never waited on by a timer: it may be longer than one holds.
    type: duration({ maxMs: Number.POSITIVE_INFINITY }),
    arg: "<duration>",
    help: 'oldest update kept for replay ("30d", "1h")',
    shownDefault: "sqlite 30d, memory 1h, redis 1h",
    group: "storage",
  }),
  field({
    key: "memoryMaxBytes",
    type: bytes,
    arg: "<size>",
    help: "memory engine: most memory its entries may take; past it, writes are refused (507) until retention frees some",
    shownDefault: "256mb",
    group: "storage",
  }),
  field({
    key: "sync",
    type: oneOf(["normal", "full"] as const),
    arg: "<mode>",
    help: "sqlite durability: normal survives a crash of the process, full also a power loss",
    shownDefault: "normal",
    group: "storage",
  }),
  // auth
  field({
    key: "jwtKey",
    secret: true,
    type: text("a secret, PEM text, or the path of a PEM file"),
    arg: "<key>",
    help: "key for both publisher and subscriber tokens: an HMAC secret, PEM text, or a PEM file path",
    group: "auth",
  }),
  field({
    key: "publisherJwtKey",
    secret: true,
    type: text("a secret, PEM text, or the path of a PEM file"),
    arg: "<key>",
    help: "key for publisher tokens (overrides --jwt-key for publishing)",
    group: "auth",
  }),
  field({
    key: "subscriberJwtKey",
    secret: true,
    type: text("a secret, PEM text, or the path of a PEM file"),
    arg: "<key>",
    help: "key for subscriber tokens (overrides --jwt-key for subscribing)",
    group: "auth",
  }),
  field({
    key: "jwksUrl",
    type: httpUrl,
    arg: "<url>",
    help: "JWK Set URL trusted for both roles (keys picked by kid); https, or http to loopback only",
    group: "auth",
  }),
  field({
    key: "jwtIssuer",
    type: text("an issuer identifier"),
    arg: "<iss>",
    help: "accept tokens only from this issuer (iss)",
    group: "auth",
  }),
  field({
    key: "algorithms",
    type: list(
      "a comma-separated list of JWS algorithms (HS256, RS256, ES256, EdDSA, …)",
      z.string().regex(/^(HS|RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/),
    ),
    arg: "<algs>",
    help: "accepted token algorithms, comma-separated",
    shownDefault: "HS256,RS256,ES256,EdDSA",
    group: "auth",
  }),
  field({
    key: "resource",
    type: text("a resource identifier (usually a URL)"),
    arg: "<id>",
    help: "resource identifier required in tokens' aud",
    shownDefault: "the hub URL",
    group: "auth",
  }),
  field({
    key: "anonymous",
    type: boolean,
    help: "let subscribers without a token in (public updates only)",
    shownDefault: "off",
    group: "auth",
  }),
  field({
    key: "anonymousPublish",
    type: boolean,
    help: "let anyone publish without a token (trusted private networks only)",
    shownDefault: "off",
    group: "auth",
  }),
  field({
    key: "cookieNames",
    type: list("a comma-separated list of cookie names"),
    arg: "<names>",
    help: "cookies read for the subscriber token, comma-separated",
    shownDefault: DEFAULT_COOKIE_NAMES.join(","),
    group: "auth",
  }),
  field({
    key: "dev",
    type: boolean,
    help: "dev mode: without keys, let clients on this machine in without a token, and print tokens for tools",
    shownDefault: "on when no publisher key is set",
    group: "auth",
  }),
  // protocol
  field({
    key: "legacy",
    type: boolean,
    help: "accept pre-standardization tokens, selectors and parameters",
    shownDefault: "on",
    group: "protocol",
  }),
  field({
    key: "subscriptions",
    type: boolean,
    help: "publish subscription events and expose the subscription API",
    shownDefault: "off",
    group: "protocol",
  }),
  field({
    key: "heartbeat",
    type: duration(),
    arg: "<duration>",
    help: "interval of the keep-alive comment on idle streams",
    shownDefault: `${DEFAULT_HEARTBEAT_MS / 1000}s`,
    group: "protocol",
  }),
  field({
    key: "retry",
    // Sent to clients, never waited on here.
    type: duration({ maxMs: Number.POSITIVE_INFINITY }),
    arg: "<duration>",
    help: "reconnection delay (retry:) sent to subscribers",
    shownDefault: `${DEFAULT_RETRY_MS / 1000}s`,
    group: "protocol",
  }),
  // limits
  field({
    key: "maxBodyBytes",
    type: bytes,
    arg: "<size>",
    help: "largest publish request body (413 past it)",
    shownDefault: "1mb",
    group: "limits",
  }),
  field({
    key: "maxBodyDepth",
    type: count,
    arg: "<n>",
    help: "how deep arrays and objects may nest in a JSON publish body or NDJSON line (400 past it)",
    shownDefault: "64",
    group: "limits",
  }),
  field({
    key: "maxBodyKeys",
    type: count,
    arg: "<n>",
    help: "how many keys one object of a JSON publish body or NDJSON line may have (400 past it)",
    shownDefault: "10000",
    group: "limits",
  }),
  field({
    key: "maxBodyValues",
    type: count,
    arg: "<n>",
    help: "how many values (array items and object members, at any depth) a JSON publish body or NDJSON line may hold; their parse holds the event loop (400 past it)",
    shownDefault: "200000",
    group: "limits",
  }),
  field({
    key: "maxTopicsPerUpdate",
    type: count,
    arg: "<n>",
    help: "topic fields per update (413 past it)",
    shownDefault: "64",
    group: "limits",
  }),
  field({
    key: "maxUpdatesPerRequest",
    type: count,
    arg: "<n>",
    help: "updates per batch or streaming publish request",
    shownDefault: "10000",
    group: "limits",
  }),
  field({
    key: "maxMatchersPerSubscription",
    type: count,
    arg: "<n>",
    help: "matchers per subscription request (400 past it)",
    shownDefault: "64",
    group: "limits",
  }),
  field({
    key: "maxPatternMatchersPerAddress",
    type: count,
    arg: "<n>",
    help: "URL pattern and URI template matchers per client address, across its subscriptions (429 past it); each is tested against every update, exact matchers are not counted",
    shownDefault: "4 × --max-connections-per-address",
    group: "limits",
  }),
  field({
    key: "maxPatternLength",
    type: count,
    arg: "<n>",
    help: "longest matcher or topic, in characters",
    shownDefault: "1024",
    group: "limits",
  }),
  field({
    key: "maxConnectionsPerAddress",
    type: count,
    arg: "<n>",
    help: "open subscriber connections, AI streams and Durable Streams live reads per client address, together (429 past it)",
    shownDefault: "256",
    group: "limits",
  }),
  field({
    key: "ipv6PrefixLength",
    type: integer(1, 128, "a number of bits from 1 to 128"),
    arg: "<bits>",
    help: "leading bits of an IPv6 address that name one client for --max-connections-per-address (1-128; 128: each address apart)",
    shownDefault: "64",
    group: "limits",
  }),
  field({
    key: "maxConnections",
    type: count,
    arg: "<n>",
    help: "open subscriber connections, AI streams and Durable Streams live reads in all, together (429 past it)",
    shownDefault: "50000",
    group: "limits",
  }),
  field({
    key: "maxQueuedBytes",
    type: bytes,
    arg: "<size>",
    help: "bytes queued for one slow subscriber before it is disconnected",
    shownDefault: "256kb",
    group: "limits",
  }),
  field({
    key: "maxConnectionTime",
    // The hub's timer is clamped to the longest a timer waits (about 24.8 days).
    type: duration({ maxMs: Number.POSITIVE_INFINITY }),
    arg: "<duration>",
    help: "longest a subscriber connection stays open",
    shownDefault: "24h",
    group: "limits",
  }),
  field({
    key: "maxConcurrentReplays",
    type: count,
    arg: "<n>",
    help: "history reads for resuming subscribers run at once; the others wait",
    shownDefault: "64",
    group: "limits",
  }),
  field({
    key: "maxQueuedReplays",
    type: count,
    arg: "<n>",
    help: "resuming subscribers waiting to read history; past it, told to come back later",
    shownDefault: "1024",
    group: "limits",
  }),
  field({
    key: "maxConcurrentStreams",
    type: count,
    arg: "<n>",
    help: "HTTP/2 (with TLS): streams one connection may have open at once; more wait their turn",
    shownDefault: "100",
    group: "limits",
  }),
  field({
    key: "maxStreamResetsPerSecond",
    type: count,
    arg: "<n>",
    help: "HTTP/2 (with TLS): a connection whose streams are reset more often within a second is closed (rapid reset)",
    shownDefault: "200",
    group: "limits",
  }),
  field({
    key: "maxPipelinedRequests",
    type: count,
    arg: "<n>",
    help: "HTTP/1.1: requests one connection may send ahead of their answers (pipelining); past it the connection is closed",
    shownDefault: "16",
    group: "limits",
  }),
  // timeouts
  field({
    key: "headersTimeout",
    type: duration(),
    arg: "<duration>",
    help: "a client that has not sent its request headers by then is cut (slowloris); with TLS, also the handshake",
    shownDefault: "10s",
    group: "timeouts",
  }),
  field({
    key: "bodyIdleTimeout",
    type: duration(),
    arg: "<duration>",
    help: "a request body (publish, AI request, Durable Streams write) that stops arriving for this long gets 408 and is cut; a QUERY subscription's body must arrive whole within it",
    shownDefault: "60s",
    group: "timeouts",
  }),
  field({
    key: "keepAliveTimeout",
    type: duration(),
    arg: "<duration>",
    help: "how long an idle keep-alive connection (HTTP/2: one with no open stream) waits for its next request",
    shownDefault: "65s",
    group: "timeouts",
  }),
  // ai
  field({
    key: "aiModels",
    type: text("the path of a JSON file"),
    arg: "<file>",
    help: 'models served at /v1: a JSON file {"name": {"provider": "openai"|"anthropic"|"demo", "baseURL", "model", "apiKeyEnv", …}}; an unknown key is refused',
    shownDefault: "the offline demo model, named demo",
    group: "ai",
  }),
  field({
    key: "aiMaxConcurrent",
    type: count,
    arg: "<n>",
    help: "AI generations one subject (a token's sub) may run at once, across the nodes sharing the engine (429 past it)",
    shownDefault: "16",
    group: "ai",
  }),
  field({
    key: "aiMaxPerMinute",
    type: count,
    arg: "<n>",
    help: "AI generations one subject may start per minute, counted across the nodes (429 with retry-after past it)",
    shownDefault: "120",
    group: "ai",
  }),
  field({
    key: "aiMaxOutputTokens",
    type: count,
    arg: "<n>",
    help: "the most output tokens (max_tokens) one AI request may ask for (400 past it)",
    shownDefault: "65536",
    group: "ai",
  }),
  field({
    key: "aiMaxMessages",
    type: count,
    arg: "<n>",
    help: "the most messages one AI request may send (400 past it)",
    shownDefault: "2000",
    group: "ai",
  }),
  field({
    key: "aiMaxContentParts",
    type: count,
    arg: "<n>",
    help: "the most content parts all the messages of one AI request may have together (400 past it)",
    shownDefault: "20000",
    group: "ai",
  }),
  field({
    key: "aiMaxBodyBytes",
    type: bytes,
    arg: "<size>",
    help: "largest AI request body (prompts with images are large; 413 past it)",
    shownDefault: "8mb",
    group: "ai",
  }),
  field({
    key: "aiMaxBodyDepth",
    type: count,
    arg: "<n>",
    help: "how deep arrays and objects may nest in an AI request body (400 past it)",
    shownDefault: "64",
    group: "ai",
  }),
  field({
    key: "aiMaxBodyKeys",
    type: count,
    arg: "<n>",
    help: "how many keys one object of an AI request body may have (400 past it)",
    shownDefault: "10000",
    group: "ai",
  }),
  field({
    key: "aiMaxBodyValues",
    type: count,
    arg: "<n>",
    help: "how many values (array items and object members, at any depth) an AI request body may hold; their parse holds the event loop (400 past it)",
    shownDefault: "200000",
    group: "ai",
  }),
  field({
    key: "aiStorePrompts",
    type: boolean,
    help: "keep each AI generation's prompt as long as its answer (GET /v1/generations/{id}?include=prompt)",
    shownDefault: "on",
    group: "ai",
  }),
  field({
    key: "aiRememberReasoning",
    type: boolean,
    help: "give a tool turn sent back without its reasoning (LangChain, plain stored messages) the reasoning its thinking model needs, from the generation that made its calls",
    shownDefault: "on",
    group: "ai",
  }),
  // streams
  field({
    key: "streamsMaxStreams",
    type: count,
    arg: "<n>",
    help: "Durable Streams held, counted per node (429 past it)",
    shownDefault: String(STREAMS_DEFAULTS.maxStreams),
    group: "streams",
  }),
  field({
    key: "streamsMaxBodyBytes",
    type: bytes,
    arg: "<size>",
    help: "largest Durable Streams write body, PUT or POST (413 past it; the hub's --max-body-bytes is for publishing)",
    shownDefault: "8mb",
    group: "streams",
  }),
  field({
    key: "streamsMaxBodyDepth",
    type: count,
    arg: "<n>",
    help: "how deep arrays and objects may nest in a JSON stream's write body (400 past it)",
    shownDefault: String(STREAMS_DEFAULTS.maxBodyDepth),
    group: "streams",
  }),
  field({
    key: "streamsMaxBodyKeys",
    type: count,
    arg: "<n>",
    help: "how many keys one object of a JSON stream's write body may have (400 past it)",
    shownDefault: String(STREAMS_DEFAULTS.maxBodyKeys),
    group: "streams",
  }),
  field({
    key: "streamsMaxBodyValues",
    type: count,
    arg: "<n>",
    help: "how many values (array items and object members, at any depth) a JSON stream's write body may hold; their parse holds the event loop (400 past it)",
    shownDefault: String(STREAMS_DEFAULTS.maxBodyValues),
    group: "streams",
  }),
  field({
    key: "streamsLongPollTimeout",
    type: duration(),
    arg: "<duration>",
    help: "how long a Durable Streams long-poll waits for data before its 204",
    shownDefault: `${STREAMS_DEFAULTS.longPollTimeoutMs / 1000}s`,
    group: "streams",
  }),
  field({
    key: "streamsSseLifetime",
    type: duration(),
    arg: "<duration>",
    help: "how long a Durable Streams SSE read lasts before the server ends it and the client resumes from its offset (the protocol asks about 60s, for CDN collapsing)",
    shownDefault: `${STREAMS_DEFAULTS.sseLifetimeMs / 1000}s`,
    group: "streams",
  }),
  field({
    key: "streamsMaxQueuedBytes",
    type: bytes,
    arg: "<size>",
    help: "bytes waiting for one slow Durable Streams SSE reader before its response ends and it resumes from its offset (the hub's --max-queued-bytes is for subscribers)",
    shownDefault: "256kb",
    group: "streams",
  }),
  field({
    key: "streamsMaxReadBytes",
    type: bytes,
    arg: "<size>",
    help: "stream data in one Durable Streams read response (at least one append is sent; the rest on the next read)",
    shownDefault: "1mb",
    group: "streams",
  }),
  // process
  field({
    key: "nodeId",
    type: {
      schema: z
        .string()
        .trim()
        .regex(/^[\x21-\x7e]{1,128}$/),
      expected: "1 to 128 visible ASCII characters (no spaces)",
    },
    arg: "<id>",
    help: "this process's name among the nodes sharing the engine (its lease, its subscribers)",
    shownDefault: "<hostname>-<pid>-<random>",
    group: "process",
  }),
  field({
    key: "nodeLease",
    // Renewed every third of it, retried every tenth after a failure: a shorter lease would
    // renew in a busy loop, and lapse on any pause of the event loop or the store.
    type: duration({ minMs: 1000 }),
    arg: "<duration>",
    help: "this node's lease in the engine, renewed every third of it; once it lapses, other nodes take its work over",
    shownDefault: "10s",
    group: "process",
  }),
  field({
    key: "logLevel",
    type: oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const),
    arg: "<level>",
    help: "log level: fatal, error, warn, info, debug, trace or silent",
    shownDefault: "info",
    group: "process",
  }),
  field({
    key: "shutdownTimeout",
    type: duration(),
    arg: "<duration>",
    help: "on SIGTERM, how long AI generations in progress get to finish (then they are interrupted) and slow readers to take their last bytes; subscribers are closed at once",
    shownDefault: "10s",
    group: "process",
  }),
  field({
    key: "shutdownRetryJitter",
    type: duration(),
    arg: "<duration>",
    help: "on SIGTERM, subscribers come back after --retry plus a random share of this window",
    shownDefault: "5s",
    group: "process",
  }),
] as const satisfies readonly Field<unknown>[]

/** A setting's name in a config file. */
export type FieldKey = (typeof FIELDS)[number]["key"]

/** `maxBodyBytes` → `--max-body-bytes`. */
export function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`
}

/** `maxBodyBytes` → `HERALD_MAX_BODY_BYTES`. */
export function envOf(key: string): string {
  return `HERALD_${key.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`
}

/** Commander's property name for a flag: `--max-body-bytes` → `maxBodyBytes` (the key itself). */
export function fieldByKey(key: string): Field | undefined {
  return FIELDS.find((candidate) => candidate.key === key) as Field | undefined
}
