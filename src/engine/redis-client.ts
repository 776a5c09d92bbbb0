/**
 * The redis engine's connections (ioredis), set up so that a command is never run twice and a
 * Redis that is away fails fast with {@link EngineUnavailableError}.
 *
 * ioredis's defaults would re-run an append: commands written before a connection broke are sent
 * again after the reconnect (`autoResendUnfulfilledCommands`), commands issued while
 * disconnected wait in an offline queue and go out later, and a Cluster retries a command whose
 * connection closed on another node (`retryDelayOnFailover`). An append whose reply was lost may
 * well have been stored, so each of those is a possible duplicate. They are all off: a command in
 * flight when the connection breaks rejects (`maxRetriesPerRequest: 0`), a command issued while
 * Redis is away waits at most `connectWaitMs` for the reconnect in {@link RedisLink.ready} (it was
 * never sent, so that wait is safe) and then rejects, and `commandTimeout` bounds a Redis that
 * hangs. A writer that must not lose nor duplicate retries with a producer fence: the retry of a
 * stored append answers `duplicate`.
 *
 * A Cluster connects to each node lazily, on its first command, so there the offline queues stay
 * on: they hold only commands not yet sent, for a node that is connecting. A node that does not
 * connect within `commandTimeoutMs` is closed, which rejects what waited for it.
 *
 * A connection that goes silent without closing (half-open: a NAT or load balancer dropped its
 * state, a frozen peer) would pass for alive until the system's TCP keepalive gives up, hours
 * later: commands would time out one by one, and a subscriber would hear nothing, with nothing
 * said. So a connection that answers nothing for `socketTimeoutMs` while it owes a reply is
 * closed and reconnected (ioredis's `socketTimeout`), TCP keepalive probes start after a short
 * idle time, and the subscriber connections, which otherwise owe no reply for as long as their
 * channels are quiet, are PINGed every 5 s (every `socketTimeoutMs` when shorter): the dedicated
 * one of a standalone or Sentinel Redis, and on a Cluster ioredis's own, one per master.
 */

import { createHash } from "node:crypto"
import { createRequire } from "node:module"
import { connect } from "node:net"
import { connect as tlsConnect } from "node:tls"
import type { Cluster, ClusterNode, RedisOptions, Redis as RedisType } from "ioredis"
import { defaultLogger, type Logger } from "../logger.js"
import { StorageFullError } from "./storage-full.js"
import { EngineUnavailableError } from "./unavailable.js"

/** A standalone or Sentinel connection, or a Cluster. */
export type RedisClient = RedisType | Cluster

/** Where Redis is. Exactly one of `url`, `nodes` (Cluster) and `sentinels` (with `name`). */
export interface RedisConnectionOptions {
  /** A standalone Redis, `redis://[user:password@]host:port[/db]` (`rediss://` for TLS). */
  readonly url?: string
  /** The seed nodes of a Redis Cluster. */
  readonly nodes?: readonly (string | { readonly host: string; readonly port: number })[]
  /** The Sentinels watching the master called `name`. */
  readonly sentinels?: readonly { readonly host: string; readonly port: number }[]
  /** The Sentinel master name. */
  readonly name?: string
  /** More ioredis options for every connection (password, TLS, …). The safety options win. */
  readonly redisOptions?: RedisOptions
  /** A command without a reply after this long rejects. Default 2 000 ms. */
  readonly commandTimeoutMs?: number
  /** How long a command waits for a Redis that is reconnecting before it rejects. Default 1 000 ms. */
  readonly connectWaitMs?: number
  /**
   * A connection that owes a reply and receives nothing for this long is taken for dead, closed
   * and reconnected; the subscriber connections (on a Cluster, one per master) are PINGed so that
   * their silence counts too (every 5 s, or this often when shorter). Default 15 000 ms; 0 turns
   * both off.
   */
  readonly socketTimeoutMs?: number
  /** How messages name the settings to change (herald serve names its flags). */
  readonly settingNames?: RedisSettingNames
}

/** How the messages of a {@link RedisSetupError} name the settings an operator changes. */
export interface RedisSettingNames {
  /** Where the password, user, database and TLS are given. Default "the `url` option". */
  readonly url?: string
  /** What asks for a Cluster. Default "the `nodes` option". */
  readonly cluster?: string
  /** What names the Sentinels' master. Default "the `name` option". */
  readonly sentinelName?: string
}

/**
 * Redis answers but refuses how it is connected to: a wrong or missing password, a database it
 * does not have, a Cluster that is none. Reconnecting does not fix it; the message names the
 * setting to change. An {@link EngineUnavailableError}, so a call refused for it is a 503 too.
 */
export class RedisSetupError extends EngineUnavailableError {
  constructor(message: string) {
    super(message)
    Object.defineProperty(this, "name", { value: "RedisSetupError" })
    // Where the engine noticed says nothing: the message names what to change.
    this.stack = `${this.name}: ${message}`
  }
}

/** The connections of one engine. */
export interface RedisConnections {
  /** Commands and scripts. */
  readonly command: RedisLink
  /**
   * Subscriptions: a dedicated connection on standalone and Sentinel; on a Cluster the Cluster
   * itself (ioredis keeps its own subscriber connections: one per master for SSUBSCRIBE).
   */
  readonly subscriber: RedisLink
  readonly cluster: boolean
}

type Ioredis = typeof import("ioredis")

/** How long a command may take by default ({@link RedisConnectionOptions.commandTimeoutMs}). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 2_000

/**
 * How long a connection that owes a reply may stay silent by default: past Redis's own
 * `busy-reply-threshold` (5 s) and the stalls of a fork or a slow disk, which only time commands
 * out, so that a busy Redis does not cost every node its subscriptions and every follower a re-read.
 */
const DEFAULT_SOCKET_TIMEOUT_MS = 15_000

/** How often, at most, the subscriber connection is PINGed so that its silence counts. */
const SUBSCRIBER_PING_MS = 5_000

/** The idle time after which TCP keepalive probes a connection (the system's default is 2 hours). */
const KEEP_ALIVE_MS = 10_000

/** Replies that mean "not now" rather than "wrong": the store is loading, failing over, busy. */
const UNAVAILABLE_REPLY = /^(LOADING|CLUSTERDOWN|TRYAGAIN|READONLY|MASTERDOWN|BUSY|NOREPLICAS)\b/

/**
 * Opens the engine's connections (they connect in the background and reconnect by themselves);
 * `logger` hears of losses, recoveries and settings Redis refuses.
 */
export function openRedis(
  options: RedisConnectionOptions,
  logger: Logger = defaultLogger(),
): RedisConnections {
  const ioredis = loadIoredis()
  const given = [options.url, options.nodes, options.sentinels].filter((where) => where !== undefined)
  if (given.length > 1) {
    throw new TypeError("redis engine: give one of `url`, `nodes` (Cluster) or `sentinels`, not several.")
  }
  const waitMs = options.connectWaitMs ?? 1_000
  const commandTimeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS
  const socketTimeout = options.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS
  const common = {
    keepAlive: KEEP_ALIVE_MS,
    ...options.redisOptions,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout,
    socketTimeout: socketTimeout > 0 ? socketTimeout : undefined,
  } satisfies RedisOptions
  const safe: RedisOptions = { ...common, enableOfflineQueue: false }
  const names = {
    url: options.settingNames?.url ?? "the `url` option",
    cluster: options.settingNames?.cluster ?? "the `nodes` option",
    sentinelName: options.settingNames?.sentinelName ?? "the `name` option",
  }
  const link = (client: RedisClient, role: string, address: string) =>
    new RedisLink(client, waitMs, { role, address, names, logger })
  if (options.nodes !== undefined) {
    // ioredis gives a Cluster's node connections an offline queue whatever the options say.
    const cluster = new ioredis.Cluster(options.nodes as ClusterNode[], {
      redisOptions: { ...common, connectTimeout: commandTimeout },
      enableOfflineQueue: true,
      retryDelayOnFailover: 0,
      shardedSubscribers: true,
    })
    const seeds = options.nodes.map((node) => (typeof node === "string" ? node : `${node.host}:${node.port}`))
    const both = link(cluster, "connections", `the Cluster of ${seeds.join(",")}`)
    if (socketTimeout > 0) both.pingEvery(Math.min(socketTimeout, SUBSCRIBER_PING_MS))
    return { command: both, subscriber: both, cluster: true }
  }
  let command: RedisType
  if (options.sentinels !== undefined) {
    if (options.name === undefined) throw new TypeError("redis engine: `sentinels` needs the master `name`.")
    // The failover detector listens to the Sentinels and moves to the new master at once,
    // instead of a subscriber connection that looks healthy and receives nothing (centrifugo#1189).
    command = new ioredis.Redis({
      ...safe,
      sentinels: [...options.sentinels],
      name: options.name,
      failoverDetector: true,
    })
  } else {
    command = new ioredis.Redis(options.url ?? "redis://127.0.0.1:6379", safe)
  }
  // The engine resubscribes itself after a reconnect, so it knows when the feed is whole again.
  const subscriber = command.duplicate({ autoResubscribe: false })
  const address =
    options.sentinels === undefined
      ? `${command.options.host}:${command.options.port}`
      : `master "${options.name}"`
  const subscriptions = link(subscriber, "subscriptions", address)
  if (socketTimeout > 0) subscriptions.pingEvery(Math.min(socketTimeout, SUBSCRIBER_PING_MS))
  return { command: link(command, "commands", address), subscriber: subscriptions, cluster: false }
}

/** A Lua script with its SHA-1, for EVALSHA. */
export interface LuaScript {
  readonly source: string
  readonly sha: string
}

/** `source` as a {@link LuaScript}. */
export function luaScript(source: string): LuaScript {
  return { source, sha: createHash("sha1").update(source).digest("hex") }
}

/** What a {@link RedisLink} says in its messages and logs. */
export interface LinkContext {
  /** What the connection carries, for log lines: "commands", "subscriptions". */
  readonly role: string
  /** Where Redis is: host:port, the Sentinel master's name, or a Cluster's seeds. */
  readonly address: string
  readonly names: Required<RedisSettingNames>
  readonly logger: Logger
}

/** How ioredis names a Cluster's subscriber connection for SSUBSCRIBE (cluster/util.js). */
const SHARDED_SUBSCRIBER = "ioredis-cluster(ssubscriber)"

/** What ioredis 5 keeps of a Cluster's subscribers for SSUBSCRIBE, in private fields. */
interface SubscriberGroup {
  hasUnhealthySubscribers?: () => boolean
  shardedSubscribers?: unknown
}

/**
 * A Cluster's own subscriber connections for SSUBSCRIBE (ioredis 5, one per master), which ioredis
 * tells of only by events without them: read from its private `Cluster.shardedSubscribers` (a
 * ClusterSubscriberGroup, cluster/ClusterSubscriberGroup.js). Every read of it is here, and each
 * answers "not known" when a later ioredis has moved what it reads: then every "subscribersReady"
 * counts as a replacement (said, and every follower re-reads), and the connections are not
 * PINGed (TCP keepalive notices one that is gone, not one gone silent).
 */
const shardedSubscribers = {
  /** Whether one is still to be replaced, if known. */
  replacing(cluster: RedisClient): boolean | undefined {
    return subscriberGroup(cluster)?.hasUnhealthySubscribers?.()
  },
  /** Their connections, as many as are known. */
  connections(cluster: RedisClient): RedisType[] {
    const subscribers = subscriberGroup(cluster)?.shardedSubscribers
    if (!(subscribers instanceof Map)) return []
    const connections: RedisType[] = []
    for (const subscriber of subscribers.values()) {
      const connection = (subscriber as { getInstance?: () => RedisType | null }).getInstance?.()
      if (connection != null) connections.push(connection)
    }
    return connections
  },
}

/** `host:port` of a connection. */
function addressOf(connection: RedisType): string {
  return `${connection.options.host}:${connection.options.port}`
}

/** ioredis's ClusterSubscriberGroup of `cluster`, if it has one where ioredis 5 keeps it. */
function subscriberGroup(cluster: RedisClient): SubscriberGroup | undefined {
  return (cluster as { shardedSubscribers?: SubscriberGroup }).shardedSubscribers
}

/** How often a problem that lasts is logged again: once, then at most this often. */
const REPEAT_LOG_MS = 30_000

/** The lines of a problem that lasts: the first at once, then at most one every {@link REPEAT_LOG_MS}. */
class RepeatedLine {
  #loggedAt = Number.NEGATIVE_INFINITY

  /** Whether a line is due now; if it is, it counts as written. */
  due(): boolean {
    const now = Date.now()
    if (now - this.#loggedAt < REPEAT_LOG_MS) return false
    this.#loggedAt = now
    return true
  }

  /** The problem is over: the next one's first line is due at once. */
  reset(): void {
    this.#loggedAt = Number.NEGATIVE_INFINITY
  }
}

/**
 * One ioredis client with a bounded wait for readiness and errors mapped to the engine's. On a
 * standalone or Sentinel connection, the first command of a turn of the event loop is written at
 * once, and the later ones of that turn leave together in one write (one system call) at its end:
 * a lone append waits for nothing, and many generations' appends made in one turn (the replies of
 * one read waking them all) still go out together. Holding the first one back as well would make
 * it wait for every microtask the turn runs after it.
 *
 * It also tells operators what happens to the connection, one line per event rather than per
 * command: the loss (warn), a Redis still unreachable (warn, at most every 30 s, with the cause),
 * the recovery (info), and settings Redis refuses ({@link RedisSetupError}: error, at most every
 * 30 s). Calls refused meanwhile carry the same cause, without a stack: the outage is the news.
 */
export class RedisLink {
  readonly client: RedisClient
  readonly #waitMs: number
  readonly #context: LinkContext
  /** Settles when the client is next ready; shared by every waiter of one outage. */
  #ready: Promise<void> | undefined
  /** A command was written in this turn: the next ones are held back until its end. */
  #wroteThisTurn = false
  /** The connection holding this turn's later commands back, to write them at once at its end. */
  #held: { uncork(): void } | undefined
  /** The connection was ready and has not closed since. */
  #up = false
  #everUp = false
  /** Since when Redis has been away, and when that was last logged. */
  #outage: { readonly since: number; loggedAt: number } | undefined
  /** A Cluster's subscriber connections lost (their nodes), since when, until they are replaced. */
  #lostSubscribers: { readonly since: number; readonly nodes: Set<string> } | undefined
  /** The last connection error: the cause a refused call names. */
  #lastError: Error | undefined
  /** A setting Redis refused on the current connection attempt. */
  #attemptProblem: RedisSetupError | undefined
  /** A setting Redis refused, until a connection is ready without one: calls fail with it. */
  #setupError: RedisSetupError | undefined
  readonly #setupLine = new RepeatedLine()
  /** Redis refusing writes for want of memory: told at most every {@link REPEAT_LOG_MS}. */
  readonly #fullLine = new RepeatedLine()
  /** When Redis last refused a write for want of memory. */
  #fullAt = Number.NEGATIVE_INFINITY
  /** The first outcome of connecting, while {@link opened} waits for it. */
  #opening: ((problem?: RedisSetupError) => void) | undefined
  /** The look at the Redis reached that runs at every ready, and what follows it ({@link checkOnReady}). */
  #check: { readonly look: () => Promise<void>; readonly then: () => void } | undefined
  /** Counts the looks, so that one a later ready overtook decides nothing. */
  #checks = 0
  /** What the look refused: calls fail with it, across reconnects, until a look passes. */
  #refusal: RedisSetupError | undefined
  /** The next look while refused. */
  #recheck: NodeJS.Timeout | undefined
  #closing = false
  /** A reset while opening is being looked into ({@link RedisLink.#wrongTransport}). */
  #checkingTransport = false
  /** The timer of {@link pingEvery}. */
  #pinger: NodeJS.Timeout | undefined
  /** Told when a Cluster's subscriber connections are renewed ({@link onSubscribersRenewed}). */
  #renewed: (() => void) | undefined
  /** A Cluster's subscriber connections that were ready when ioredis last said "subscribersReady". */
  #readySubscribers = new Set<RedisType>()

  /** Where Redis is, as the link's messages name it. */
  get address(): string {
    return this.#context.address
  }

  constructor(client: RedisClient, waitMs: number, context: LinkContext) {
    this.client = client
    this.#waitMs = waitMs
    this.#context = context
    client.on("connecting", () => {
      this.#attemptProblem = undefined
    })
    client.on("ready", () => this.#onReady())
    client.on("close", () => {
      forgetSocketDeadline(client)
      this.#onClose()
    })
    // A Cluster's commands go through a connection per node, each with its own deadline.
    client.on("+node", (node: RedisType) => node.on("close", () => forgetSocketDeadline(node)))
    client.on("error", (error: Error) => this.#onError(error, context.address))
    // A Cluster names the node that failed; its "error" then only sums the round up.
    client.on("node error", (error: Error, node: string) => this.#onError(error, node, true))
    // A node lost while the Cluster serves: its slots are refused until it returns or fails over.
    // ioredis says the same of a subscriber connection of its own (SSUBSCRIBE, one per master)
    // that ended, the node perhaps still serving: it is replaced, then "subscribersReady".
    client.on("-node", (node: RedisType) => {
      if (this.#closing || !this.#up) return
      const at = addressOf(node)
      if (node.options.connectionName?.startsWith(SHARDED_SUBSCRIBER) === true) {
        this.#lostSubscribers ??= { since: Date.now(), nodes: new Set() }
        // Each failed attempt to replace it ends another connection to the node: said once.
        if (this.#lostSubscribers.nodes.has(at)) return
        this.#lostSubscribers.nodes.add(at)
        context.logger.warn(
          { role: context.role },
          `redis engine: lost the subscriptions' connection to the Cluster's node at ${at}; every follower on this node re-reads once it is replaced`,
        )
        return
      }
      context.logger.warn(
        { role: context.role },
        `redis engine: lost the Cluster's node at ${node.options.host}:${node.options.port}; the logs in its slots are refused until it is back or replaced`,
      )
    })
    client.on("+node", (node: RedisType) => {
      if (this.#closing || !this.#up) return
      context.logger.info(
        { role: context.role },
        `redis engine: the Cluster's node at ${node.options.host}:${node.options.port} is known again`,
      )
    })
    client.on("subscribersReady", () => {
      if (this.#closing) return
      // Said also when a replacement failed to connect: ioredis tries again at once, many times a
      // second while the node is away, and says it again each time. Only an attempt that left
      // none to replace, or brought a connection not ready before (to the lost node, or to a
      // replica or master taking over another node's slots meanwhile), renews anything.
      const lost = this.#lostSubscribers
      const replacing = shardedSubscribers.replacing(client) === true
      const ready = shardedSubscribers.connections(client).filter((node) => node.status === "ready")
      const brought = ready.some((node) => !this.#readySubscribers.has(node))
      this.#readySubscribers = new Set(ready)
      if (replacing && !brought) return
      this.#renewed?.()
      if (lost === undefined || replacing) return
      this.#lostSubscribers = undefined
      const nodes = [...lost.nodes]
      const seconds = ((Date.now() - lost.since) / 1000).toFixed(1)
      context.logger.info(
        { role: context.role },
        nodes.length === 1
          ? `redis engine: the subscriptions' connection to the Cluster's node at ${nodes[0]} is replaced after ${seconds} s`
          : `redis engine: the subscriptions' connections to the Cluster's nodes at ${nodes.join(", ")} are replaced after ${seconds} s`,
      )
    })
  }

  /**
   * On a Cluster, has `listener` (one: the live feed's) called once ioredis has replaced or re-made
   * its subscriber connections and asked them again for the channels it recorded: after an
   * attempt that brought a new connection or left none to replace, not after each one that failed.
   */
  onSubscribersRenewed(listener: () => void): void {
    this.#renewed = listener
  }

  /**
   * Settles on the first outcome of connecting: resolves once ready, once Redis proves merely
   * away (a connection error: it reconnects as ever), or after `boundMs` without either; rejects
   * with {@link RedisSetupError} when Redis refuses this connection's settings. Call it before
   * the client's first events (right after opening): those it misses are logged instead.
   */
  opened(boundMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const settle = (problem?: RedisSetupError) => {
        if (this.#opening !== settle) return
        clearTimeout(timer)
        this.#opening = undefined
        if (problem === undefined) resolve()
        else reject(problem)
      }
      const timer = setTimeout(() => {
        this.#wrongTransport().then(settle, () => settle())
      }, boundMs)
      this.#opening = settle
    })
  }

  /**
   * Whether Redis is asked with the wrong transport, which looks like an outage: a TLS handshake
   * with a Redis that has no TLS hangs (Redis waits for a line that never comes) until ioredis's
   * connect timeout, like a host that does not answer, and a TLS port resets a plain connection
   * at once, like a Redis restarting. A plain PING, or a TLS handshake, tells them apart.
   */
  async #wrongTransport(): Promise<RedisSetupError | undefined> {
    const { client } = this
    // A Cluster's and Sentinels' own connections are not this one client's: left to time out.
    const options = client.isCluster ? undefined : (client as RedisType).options
    if (client.status === "ready" || options === undefined || options.sentinels) return undefined
    const host = options.host ?? "localhost"
    const port = options.port ?? 6379
    const { address, names } = this.#context
    let fix: string | undefined
    if (options.tls && (await answersPlainPing(host, port)))
      fix = `answers without TLS: give redis://, not rediss://, in ${names.url}`
    else if (!options.tls && (await completesTlsHandshake(host, port)))
      fix = `answers only with TLS: give rediss://, not redis://, in ${names.url}`
    if (fix === undefined) return undefined
    const problem = new RedisSetupError(`redis engine: Redis at ${address} ${fix}`)
    this.#setupError = problem
    return problem
  }

  /** Resolves once the client is ready, or rejects with {@link EngineUnavailableError} after `connectWaitMs`. */
  async ready(): Promise<void> {
    const { client } = this
    if (this.#setupError !== undefined) throw this.#setupError
    if (client.status === "ready") return
    if (client.status === "end") throw outage("redis engine: the connection is closed.")
    this.#ready ??= new Promise<void>((resolve) => {
      client.once("ready", () => {
        this.#ready = undefined
        resolve()
      })
    })
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            this.#setupError ??
              outage(
                `redis engine: Redis at ${this.#context.address} is unreachable (not ready within ${this.#waitMs} ms; ${client.status}): ${this.#lastError?.message ?? "no answer yet"}`,
              ),
          ),
        this.#waitMs,
      )
    })
    try {
      await Promise.race([this.#ready, late])
    } finally {
      clearTimeout(timer)
    }
    // Ready, on a connection whose settings Redis refused (a database it lacks leaves it on 0).
    if (this.#setupError !== undefined) throw this.#setupError
  }

  /**
   * The error for Redis refusing how this connection uses it, as `fix` (given the settings' names)
   * says, with Redis's `reply`: what a look of {@link checkOnReady} throws, and a call Redis
   * refuses for the user's permissions.
   */
  refused(fix: (names: Required<RedisSettingNames>) => string, reply: string): RedisSetupError {
    return setupError(this.#context.address, fix(this.#context.names), reply)
  }

  /**
   * Has `check` look at the Redis reached each time this connection is ready (Redis may have
   * been down when the engine opened, restarted with other settings, or failed over), before
   * {@link opened} settles. It rejects with a {@link RedisSetupError} when Redis refuses how it
   * is used, with another error when it cannot tell (Redis away meanwhile). A refusal then fails
   * every call, across reconnects, as a refused setting does, and is logged at error (once, then
   * at most every 30 s as the look, repeated that often, finds it again) until a look passes.
   * `then` runs after each look that leaves no refusal standing: what needs Redis usable. Call
   * it before the client's first events (right after opening).
   */
  checkOnReady(check: () => Promise<void>, then: () => void = () => {}): void {
    this.#check = { look: check, then }
  }

  /** What the last look of {@link checkOnReady} refused, until one passes. */
  get refusal(): RedisSetupError | undefined {
    return this.#refusal
  }

  /** Runs `command` once the client is ready; a connection failure becomes {@link EngineUnavailableError}. */
  async call<T>(what: string, command: (client: RedisClient) => Promise<T>): Promise<T> {
    if (this.client.status !== "ready" || this.#setupError !== undefined) await this.ready()
    this.#cork()
    try {
      return await command(this.client)
    } catch (error) {
      // A command the user may not run, met before a look found it (or after its permissions
      // changed): the setting to change, not a failure of the engine's.
      const reply = error instanceof Error && error.name === "ReplyError" ? replyOf(error) : ""
      if (NOT_PERMITTED.test(reply)) throw this.refused(permissionsFix, reply)
      if (reply.startsWith("OOM")) throw this.#full(error as Error, reply)
      throw engineError(error, what)
    }
  }

  /**
   * Why writes fail, while they do: Redis refused one for want of memory in the last
   * {@link REPEAT_LOG_MS} (it reads as it did; a write that fits may still pass).
   */
  get full(): string | undefined {
    if (Date.now() - this.#fullAt >= REPEAT_LOG_MS) return undefined
    return `Redis at ${this.#context.address} is past its maxmemory: writes fail until it has room again (raise its maxmemory, or keep less); reads are served`
  }

  /**
   * Redis's refusal of a write for want of memory (`maxmemory`, `noeviction`) as the apps answer
   * a full store (507), told to the operator at most every {@link REPEAT_LOG_MS}: clients are
   * told each time, and retrying does not help until memory is freed or the bound raised.
   */
  #full(error: Error, reply: string): StorageFullError {
    this.#fullAt = Date.now()
    const { role, address, logger } = this.#context
    const full = new StorageFullError("redis", `Redis at ${address}`, "raise its maxmemory", {
      cause: withoutArguments(error),
    })
    // A script's refusal names its line: nothing an operator acts on.
    const said = reply.replace(/ script: [\s\S]*$/, "")
    if (this.#fullLine.due()) logger.error({ role }, `${full.message} (Redis said: ${said})`)
    return full
  }

  /**
   * PINGs the connection every `ms` while it is ready (PING is allowed in subscribe mode), so
   * that one that owes no reply otherwise, a subscriber on quiet channels, still expects one:
   * gone silent, it trips the socket timeout and reconnects, instead of hearing nothing unnoticed.
   * On a Cluster, whose commands owe their replies, its subscriber connections are PINGed: one
   * closed that way is replaced by ioredis, as one that broke.
   */
  pingEvery(ms: number): void {
    clearInterval(this.#pinger)
    this.#pinger = setInterval(() => {
      const { client } = this
      const connections = client.isCluster ? shardedSubscribers.connections(client) : [client]
      for (const connection of connections) {
        // A failure is the connection's: its close, logged, follows.
        // Guarded: a later ioredis may hand back something else from its private fields, and a
        // throw in this timer would end the process.
        if (connection.status === "ready" && typeof connection.ping === "function") {
          connection.ping().catch(() => {})
        }
      }
    }, ms)
    this.#pinger.unref()
  }

  /** Closes the connection, quietly: a loss asked for is no news. */
  async close(): Promise<void> {
    this.#closing = true
    clearInterval(this.#pinger)
    clearTimeout(this.#recheck)
    this.#opening?.()
    await this.client.quit().catch(() => this.client.disconnect())
  }

  #onReady(): void {
    const problem = this.#attemptProblem
    this.#setupError = problem ?? this.#refusal
    if (problem !== undefined) return
    this.#lastError = undefined
    if (this.#refusal === undefined) this.#setupLine.reset()
    this.#lookAtRedis()
    const { role, address, logger } = this.#context
    if (this.#outage !== undefined) {
      const seconds = ((Date.now() - this.#outage.since) / 1000).toFixed(1)
      const verb = this.#everUp ? "reconnected to" : "connected to"
      logger.info({ role }, `redis engine: ${verb} Redis at ${address} (${role}) after ${seconds} s`)
      this.#outage = undefined
    }
    this.#up = true
    this.#everUp = true
  }

  /** Runs the look of {@link checkOnReady}, if any, then settles {@link opened}'s wait. */
  #lookAtRedis(): void {
    clearTimeout(this.#recheck)
    const check = this.#check
    if (check === undefined) {
      this.#opening?.()
      return
    }
    const round = ++this.#checks
    check.look().then(
      () => {
        if (round !== this.#checks || this.#closing) return
        const lifted = this.#refusal
        if (lifted !== undefined) {
          this.#refusal = undefined
          if (this.#setupError === lifted) this.#setupError = undefined
          this.#setupLine.reset()
          const { role, address, logger } = this.#context
          logger.info(
            { role },
            `redis engine: Redis at ${address} no longer refuses how it is used; calls are served again`,
          )
        }
        check.then()
        this.#opening?.()
      },
      (error: unknown) => {
        if (round !== this.#checks || this.#closing) return
        if (error instanceof RedisSetupError) {
          this.#refusal = error
          this.#setupError = error
        } else {
          this.#context.logger.debug(
            { role: this.#context.role, error: error instanceof Error ? error.message : String(error) },
            "redis engine: could not look at what Redis lets this connection do",
          )
        }
        if (this.#refusal === undefined) check.then()
        else {
          this.#recheck = setTimeout(() => {
            if (this.client.status === "ready" && !this.#closing) this.#lookAtRedis()
          }, REPEAT_LOG_MS)
          this.#recheck.unref()
        }
        // Opening, the refusal is the caller's to report (openRedisEngine rejects with it).
        if (this.#opening !== undefined) this.#opening(error instanceof RedisSetupError ? error : undefined)
        else if (error instanceof RedisSetupError) this.#logSetupProblem(error)
      },
    )
  }

  /** Logs a refused setting at error: once, then at most every {@link REPEAT_LOG_MS}. */
  #logSetupProblem(problem: RedisSetupError): void {
    if (this.#setupLine.due()) this.#context.logger.error({ role: this.#context.role }, problem.message)
  }

  #onClose(): void {
    if (!this.#up) return
    this.#up = false
    if (this.#closing) return
    const now = Date.now()
    this.#outage = { since: now, loggedAt: now }
    const { role, address, logger } = this.#context
    // An error just before the close is its cause (a reset); a Redis that shut down sends none.
    const cause = this.#lastError === undefined ? "" : `: ${this.#lastError.message}`
    logger.warn(
      { role },
      `redis engine: lost the connection to Redis at ${address} (${role})${cause}; reconnecting`,
    )
  }

  /** `ofNode`: the error of one node of a Cluster, not of the connection as a whole. */
  #onError(error: Error, address: string, ofNode = false): void {
    const { role, logger } = this.#context
    // The message only: ioredis puts the arguments of a failed AUTH, the password, on its error.
    logger.debug({ role, error: error.message }, "redis engine: connection error")
    if (this.#closing) return
    const refused = (error as { lastNodeError?: unknown }).lastNodeError ?? error
    const problem =
      refused instanceof Error ? setupProblem(refused, address, this.client, this.#context) : undefined
    if (problem !== undefined) {
      // One node of a Cluster that serves refusing its settings (restarted with another password)
      // is that node's to fix: logged, while the other nodes' slots go on being served.
      if (!(ofNode && this.#up)) {
        // A Cluster's round-up repeats what its node error said, with a vaguer address.
        if (this.#attemptProblem !== undefined) return
        this.#attemptProblem = problem
        this.#setupError = problem
        if (this.#opening !== undefined) {
          this.#opening(problem)
          return
        }
      }
      this.#logSetupProblem(problem)
      return
    }
    // What follows a refusal on the same attempt (ioredis failing the commands it had queued)
    // is its echo, not an outage.
    if (this.#attemptProblem !== undefined) return
    this.#lastError = error
    const opening = this.#opening
    if (opening !== undefined) {
      // A reset right after connecting may be a TLS port: found out before it counts as away.
      if (this.#checkingTransport) return
      if (/ECONNRESET|EPIPE/.test(error.message)) {
        this.#checkingTransport = true
        this.#wrongTransport().then(opening, () => opening())
        return
      }
      opening()
    }
    if (this.#up) return
    const now = Date.now()
    if (this.#outage === undefined) {
      this.#outage = { since: now, loggedAt: now }
      logger.warn(
        { role },
        `redis engine: Redis at ${address} is unreachable (${role}): ${error.message}; reconnecting`,
      )
    } else if (now - this.#outage.loggedAt >= REPEAT_LOG_MS) {
      this.#outage.loggedAt = now
      const seconds = Math.round((now - this.#outage.since) / 1000)
      logger.warn(
        { role },
        `redis engine: Redis at ${address} is still unreachable after ${seconds} s (${role}): ${error.message}; reconnecting`,
      )
    }
  }

  #cork(): void {
    const stream = "stream" in this.client ? this.client.stream : undefined
    if (stream === undefined || this.#held === stream) return
    if (!this.#wroteThisTurn) {
      this.#wroteThisTurn = true
      process.nextTick(this.#endTurn)
      return
    }
    // A connection replaced within the turn (a reconnect) lets the old one's commands go.
    this.#held?.uncork()
    this.#held = stream
    stream.cork()
  }

  readonly #endTurn = (): void => {
    this.#wroteThisTurn = false
    const held = this.#held
    this.#held = undefined
    held?.uncork()
  }

  /** Runs `script` with EVALSHA, or EVAL when Redis does not have it cached (NOSCRIPT). */
  script(what: string, script: LuaScript, keys: readonly string[], args: readonly (string | number)[]) {
    return this.call(what, async (client) => {
      try {
        return await client.evalsha(script.sha, keys.length, ...keys, ...args)
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error
        return await client.eval(script.source, keys.length, ...keys, ...args)
      }
    })
  }
}

/** Whether something at `host:port` answers a plain-text PING as Redis does, within a second. */
function answersPlainPing(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (answer: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(answer)
    }
    const timer = setTimeout(() => done(false), 1_000)
    socket.once("connect", () => socket.write("PING\r\n"))
    // "+PONG", or "-NOAUTH …" from one that needs a password; a TLS server answers binary.
    socket.once("data", (data: Buffer) => done(/^[+-]/.test(data.toString("latin1"))))
    socket.once("error", () => done(false))
  })
}

/** Whether something at `host:port` completes a TLS handshake (any certificate), within a second. */
function completesTlsHandshake(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false })
    const done = (answer: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(answer)
    }
    const timer = setTimeout(() => done(false), 1_000)
    socket.once("secureConnect", () => done(true))
    socket.once("error", () => done(false))
  })
}

/** `error` as the engine reports it: the store being away is {@link EngineUnavailableError}. */
function engineError(error: unknown, what: string): Error {
  if (!(error instanceof Error)) return new Error(String(error))
  if (error instanceof EngineUnavailableError) return error
  const reply = error.name === "ReplyError" ? replyOf(error) : undefined
  if (reply !== undefined && !UNAVAILABLE_REPLY.test(reply)) return withoutArguments(error)
  return outage(
    `redis engine: ${what} failed, Redis is unavailable: ${reply ?? error.message}`,
    IN_FLIGHT.test(error.message),
  )
}

/**
 * `error` without the arguments ioredis puts on a reply error (`command.args`, on each of a
 * transaction's `previousErrors` too): an append's hold the entries, private updates included,
 * and a logger (pino's error serializer) prints them. The command's name stays.
 */
function withoutArguments(error: Error): Error {
  for (const each of [error, ...((error as { previousErrors?: unknown[] }).previousErrors ?? [])]) {
    const replied = each as { command?: { name?: unknown } }
    if (typeof replied.command === "object" && replied.command !== null)
      replied.command = { name: replied.command.name }
  }
  return error
}

/** A refusal for the user's permissions, whether the command was sent alone or from a script. */
export const NOT_PERMITTED = /NOPERM|The user executing the script can't/

/** What to change when Redis refuses the user a command or a key the engine needs. */
export function permissionsFix(names: Required<RedisSettingNames>): string {
  return `does not let the user of ${names.url} run what the engine needs: grant it as docs/engines.md, "A Redis user for Herald", says`
}

/** Redis's reply in `error`; of a transaction Redis refused whole (EXECABORT), its first command's refusal. */
function replyOf(error: Error): string {
  const first = (error as { previousErrors?: unknown[] }).previousErrors?.[0]
  return error.message.startsWith("EXECABORT") && first instanceof Error ? first.message : error.message
}

/** ioredis's errors for a command that was sent and got no answer: a timeout, a connection lost under it. */
const IN_FLIGHT = /timed out|max retries per request|Connection is closed/

/**
 * An {@link EngineUnavailableError} whose stack is its message: where in the engine the outage
 * was met says nothing, and every caller that logs it would print the same frames again.
 */
function outage(message: string, maybeApplied = false): EngineUnavailableError {
  const error = new EngineUnavailableError(message, { maybeApplied })
  error.stack = `${error.name}: ${message}`
  return error
}

/** The setting to change when `error` is Redis refusing this connection's settings, else `undefined`. */
function setupProblem(
  error: Error,
  address: string,
  client: RedisClient,
  { names }: LinkContext,
): RedisSetupError | undefined {
  const reply = error.message
  // ioredis's parser met a reply no Redis sends: something else listens there (an HTTP server
  // answers "HTTP/1.1 400" to the first command, or, taking it for HTTP/0.9, an HTML page).
  const notRedis = /^Protocol error, got "([\s\S])" as reply type byte/.exec(reply)
  if (notRedis !== null) {
    const first = JSON.stringify(notRedis[1]).slice(1, -1)
    const http = first === "H" || first === "<" ? ", as an HTTP server's does" : ""
    return new RedisSetupError(
      `redis engine: the server at ${address} answered, but not as Redis (its reply began with '${first}'${http}): check the host and port in ${names.url}`,
    )
  }
  let fix: string | undefined
  if (/^(WRONGPASS|ERR invalid password)/.test(reply))
    fix = `refused the user name or password: correct them in ${names.url}`
  else if (reply.startsWith("NOAUTH"))
    fix = `needs a password: give it in ${names.url} (redis://:password@host:port, or user:password@ for an ACL user)`
  else if (reply.startsWith("ERR DB index is out of range")) {
    const db = "options" in client && "db" in client.options ? ` ${client.options.db}` : ""
    fix = `has no database${db}: give one it has in ${names.url} (0 to its \`databases\` setting minus 1; 0 to 15 by default)`
  } else if (reply.includes("cluster support disabled"))
    fix = `is not a Cluster: drop ${names.cluster}, or give a Cluster node`
  else if (reply.includes("not allowed in cluster mode"))
    fix = `is a Cluster node: ask for a Cluster with ${names.cluster} (database 0 only)`
  // What ioredis reports when the last Sentinel it asked has no master of that name.
  else if (reply.includes("No such master with that name"))
    fix = `is not a master the Sentinels know: give the name they monitor in ${names.sentinelName}`
  return fix === undefined ? undefined : setupError(address, fix, reply)
}

function setupError(address: string, fix: string, reply: string): RedisSetupError {
  return new RedisSetupError(`redis engine: Redis at ${address} ${fix} (Redis said: ${reply})`)
}

function loadIoredis(): Ioredis {
  try {
    return createRequire(import.meta.url)("ioredis") as Ioredis
  } catch (error) {
    throw new Error(
      "The redis engine needs the package ioredis, an optional dependency that is not installed: run `npm install ioredis`.",
      { cause: error },
    )
  }
}

/**
 * Drops the deadline ioredis's `socketTimeout` set for a connection that closed. ioredis 5 arms one
 * timer per client when it sends a command and clears it only on data from that socket, so a
 * deadline the old socket left would destroy the reconnected one (redis/ioredis#2147).
 */
function forgetSocketDeadline(client: RedisClient): void {
  const held = client as { socketTimeoutTimer?: NodeJS.Timeout }
  clearTimeout(held.socketTimeoutTimer)
  held.socketTimeoutTimer = undefined
}
