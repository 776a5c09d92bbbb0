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
 */

import { createHash } from "node:crypto"
import { createRequire } from "node:module"
import type { Cluster, ClusterNode, RedisOptions, Redis as RedisType } from "ioredis"
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

/** Replies that mean "not now" rather than "wrong": the store is loading, failing over, full. */
const UNAVAILABLE_REPLY = /^(LOADING|CLUSTERDOWN|TRYAGAIN|READONLY|MASTERDOWN|OOM|BUSY|NOREPLICAS)\b/

/** Opens the engine's connections (they connect in the background and reconnect by themselves). */
export function openRedis(options: RedisConnectionOptions): RedisConnections {
  const ioredis = loadIoredis()
  const given = [options.url, options.nodes, options.sentinels].filter((where) => where !== undefined)
  if (given.length > 1) {
    throw new TypeError("redis engine: give one of `url`, `nodes` (Cluster) or `sentinels`, not several.")
  }
  const waitMs = options.connectWaitMs ?? 1_000
  const commandTimeout = options.commandTimeoutMs ?? 2_000
  const common = {
    ...options.redisOptions,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout,
  } satisfies RedisOptions
  const safe: RedisOptions = { ...common, enableOfflineQueue: false }
  if (options.nodes !== undefined) {
    // ioredis gives a Cluster's node connections an offline queue whatever the options say.
    const cluster = new ioredis.Cluster(options.nodes as ClusterNode[], {
      redisOptions: { ...common, connectTimeout: commandTimeout },
      enableOfflineQueue: true,
      retryDelayOnFailover: 0,
      shardedSubscribers: true,
    })
    const link = new RedisLink(cluster, waitMs)
    return { command: link, subscriber: link, cluster: true }
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
  return {
    command: new RedisLink(command, waitMs),
    subscriber: new RedisLink(subscriber, waitMs),
    cluster: false,
  }
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

/**
 * One ioredis client with a bounded wait for readiness and errors mapped to the engine's. On a
 * standalone or Sentinel connection, the first command of a turn of the event loop is written at
 * once, and the later ones of that turn leave together in one write (one system call) at its end:
 * a lone append waits for nothing, and many generations' appends made in one turn (the replies of
 * one read waking them all) still go out together. Holding the first one back as well would make
 * it wait for every microtask the turn runs after it.
 */
export class RedisLink {
  readonly client: RedisClient
  readonly #waitMs: number
  /** Settles when the client is next ready; shared by every waiter of one outage. */
  #ready: Promise<void> | undefined
  /** A command was written in this turn: the next ones are held back until its end. */
  #wroteThisTurn = false
  /** The connection holding this turn's later commands back, to write them at once at its end. */
  #held: { uncork(): void } | undefined

  constructor(client: RedisClient, waitMs: number) {
    this.client = client
    this.#waitMs = waitMs
  }

  /** Resolves once the client is ready, or rejects with {@link EngineUnavailableError} after `connectWaitMs`. */
  async ready(): Promise<void> {
    const { client } = this
    if (client.status === "ready") return
    if (client.status === "end") throw new EngineUnavailableError("redis engine: the connection is closed.")
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
            new EngineUnavailableError(
              `redis engine: Redis is unreachable (not ready within ${this.#waitMs} ms; ${client.status}).`,
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
  }

  /** Runs `command` once the client is ready; a connection failure becomes {@link EngineUnavailableError}. */
  async call<T>(what: string, command: (client: RedisClient) => Promise<T>): Promise<T> {
    if (this.client.status !== "ready") await this.ready()
    this.#cork()
    try {
      return await command(this.client)
    } catch (error) {
      throw engineError(error, what)
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

/** `error` as the engine reports it: the store being away is {@link EngineUnavailableError}. */
function engineError(error: unknown, what: string): Error {
  if (!(error instanceof Error)) return new Error(String(error))
  if (error.name === "ReplyError" && !UNAVAILABLE_REPLY.test(error.message)) return error
  return new EngineUnavailableError(`redis engine: ${what} failed, Redis is unavailable: ${error.message}`, {
    cause: error,
  })
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
