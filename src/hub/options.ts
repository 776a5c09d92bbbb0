import type { TrustedKey } from "../auth/keys.js"
import type { Engine } from "../engine/engine.js"
import type { NodeLeaseView } from "../engine/node-lease.js"
import type { Logger } from "../logger.js"
import type { ForwardedHeader } from "../server/client-address.js"

/** Token validation for one role. */
export interface RoleAuthOptions {
  /** Trusted keys; none means tokens for this role cannot be validated (and are refused). */
  readonly keys: readonly TrustedKey[]
  /** Accepted algorithms. Default `["HS256", "RS256", "ES256", "EdDSA"]`. */
  readonly algorithms?: readonly string[]
}

/** Limits; every one is bounded by default. */
export interface HubLimits {
  /** Publish request body, bytes. Default 1 MiB (413 past it). */
  readonly maxBodyBytes?: number
  /**
   * How deep arrays and objects may nest in a JSON publish body (or one NDJSON line); deeper is a
   * 400. Default 64, as for the AI endpoints and the streams: an update nests three.
   */
  readonly maxBodyDepth?: number
  /** How many keys one object of a JSON publish body (or NDJSON line) may have; more is a 400. Default 10 000. */
  readonly maxBodyKeys?: number
  /**
   * How many values (array items and object members, at any depth) a JSON publish body (or one
   * NDJSON line) may hold; more is a 400. Default 200 000: 10 000 updates (the most one request
   * takes) of a few topics each hold 100 000, and 200 000 parse in under 100 ms, where a body
   * raised with `maxBodyBytes` could hold the event loop for seconds (8 MiB of `{}`: two).
   */
  readonly maxBodyValues?: number
  /** `topic` fields per update. Default 64 (413 past it). */
  readonly maxTopicsPerUpdate?: number
  /** Updates per batch or streaming publish request. Default 10 000. */
  readonly maxUpdatesPerRequest?: number
  /** Matchers per subscription request. Default 64 (400 past it). */
  readonly maxMatchersPerSubscription?: number
  /**
   * URL pattern and URI template matchers of one client address (as `maxConnectionsPerAddress`
   * counts it), across its subscriber connections. Default 4 × `maxConnectionsPerAddress` (1024;
   * 429 past it). Every update is tested against each such matcher, at microseconds apiece; exact
   * matchers and `*` cost a comparison, and are not counted.
   */
  readonly maxPatternMatchersPerAddress?: number
  /** Longest matcher or topic, characters. Default 1024. */
  readonly maxPatternLength?: number
  /** Open subscriber connections per client address (an IPv6 client: per network, see `ipv6PrefixLength`). Default 256 (429 past it). */
  readonly maxConnectionsPerAddress?: number
  /**
   * How many leading bits of an IPv6 address name one client for `maxConnectionsPerAddress`,
   * 1 to 128. Default 64: a home or a cloud VM commonly holds a whole /64.
   */
  readonly ipv6PrefixLength?: number
  /** Open subscriber connections in all. Default 50 000 (429 past it). */
  readonly maxConnections?: number
  /** Bytes queued for one slow subscriber before it is disconnected. Default 256 KiB. */
  readonly maxQueuedBytes?: number
  /** Longest a subscriber connection stays open, ms, token or not. Default 24 h. */
  readonly maxConnectionMs?: number
  /**
   * History reads for resuming subscribers running at once. Default 64. The others wait; a
   * replay already under way reads its next page ahead of new ones.
   */
  readonly maxConcurrentReplays?: number
  /** Resuming subscribers waiting to start reading history. Default 1024; past it they are told to come back later. */
  readonly maxQueuedReplays?: number
  /**
   * Longest pause in a request body, ms. Default 60 000: past it, 408 and the connection is
   * closed. A streaming publish with nothing to say can keep itself alive with an empty line.
   * A `QUERY` subscription's body (its matchers, sent at once) must arrive whole within it.
   */
  readonly bodyIdleTimeoutMs?: number
}

/** Everything {@link createHub} needs. Only `engine` is required. */
export interface HubOptions {
  /** Where updates live: the hub keeps them in one log of this engine (see `log`). */
  readonly engine: Engine
  /**
   * The name of the hub's log in the engine. Default `"mercure"`. Hubs sharing an engine (one
   * Redis for several nodes of the same hub) must use the same name; different hubs, different names.
   */
  readonly log?: string
  /** The hub's public URL; its path is where the hub answers. Default `http://localhost:8080/.well-known/mercure`. */
  readonly hubUrl?: string
  /** The resource identifier required in tokens' `aud`. Default: `hubUrl`. */
  readonly resource?: string
  /** Publisher tokens. Without keys, publishing is refused unless `allowAnonymousPublish`. */
  readonly publish?: RoleAuthOptions
  /** Subscriber tokens. */
  readonly subscribe?: RoleAuthOptions
  /** Let subscribers without a token in (they get public updates only). Default `false`. */
  readonly allowAnonymousSubscribe?: boolean
  /** Let anyone publish without a token — trusted private networks only. Default `false`. */
  readonly allowAnonymousPublish?: boolean
  /**
   * Dev mode's rule (docs/authorization.md, "Dev mode"): a client on this machine — a loopback
   * peer, not forwarded by a proxy, not a browser page of a site the hub does not trust — that
   * presents no token gets every grant. A token it presents is checked as usual. Never turn this
   * on for a hub that a proxy on the same machine exposes. Default `false`.
   */
  readonly trustLocalClients?: boolean
  /** Accept pre-standardization tokens, selectors and parameters. Default `true`. */
  readonly legacy?: boolean
  /** Cookie names read for the token, in order. Default: the draft-08 name, then the legacy one (`DEFAULT_COOKIE_NAMES`). */
  readonly cookieNames?: readonly string[]
  /** Origins allowed by CORS (exact `scheme://host:port`), or `["*"]` for any origin without credentials. Default none. */
  readonly corsOrigins?: readonly string[]
  /** Publish subscription events and expose the subscription API. Default `false`. */
  readonly subscriptions?: boolean
  /**
   * This node's lease (`holdNodeLease` of `herald/engine`), when several hubs share the engine
   * (and `log`) as one hub across nodes: with `subscriptions`, each node then keeps its
   * subscriptions in the engine, the subscription API lists those of every node holding a
   * lease, and the subscriptions of a node whose lease expired are announced inactive by
   * another. The caller holds the lease for as long as the hub runs, and releases it after
   * `hub.close()`. Default: none — the hub lists its own subscriptions only.
   */
  readonly node?: NodeLeaseView
  /** Heartbeat comment interval, ms. Default 15 000. */
  readonly heartbeatMs?: number
  /** The `retry` hint sent to subscribers, ms. Default 3000. */
  readonly retryMs?: number
  /**
   * Told to come back (at shutdown, or when too many replays wait), each subscriber gets
   * `retryMs` plus a random share of this window, ms, so that they do not all return in one
   * instant. Default 5000.
   */
  readonly shutdownRetryJitterMs?: number
  readonly limits?: HubLimits
  /**
   * Addresses and CIDR ranges of the reverse proxies in front of the hub. A request from one of
   * them is counted (per-address connection limit) and logged under the client address the
   * proxies forwarded in {@link trustedProxyHeader}; see `createClientAddressResolver` in
   * `herald/server`. Default none: the TCP peer is the client.
   */
  readonly trustedProxies?: readonly string[]
  /** The header the trusted proxies set: `"x-forwarded-for"` (default) or `"forwarded"` (RFC 7239). */
  readonly trustedProxyHeader?: ForwardedHeader
  /** Where the hub reports what fails (a broken request, a stopped subscriber). Default: pino on stderr, warnings and errors. */
  readonly logger?: Logger
}
