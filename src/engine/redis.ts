/**
 * The redis engine: the distributed engine (DESIGN.md "The engine: logs"), on standalone Redis,
 * Sentinel or Cluster (ioredis). Redis holds everything; a node keeps nothing it needs to survive
 * its own restart.
 *
 * - One Redis stream per log, entry `seq` at stream id `<seq>-0`, and every key of the log under
 *   one hash tag, so a log lives in one Cluster slot (redis-keys.ts).
 * - Every operation on a log is one Lua script, one round trip (redis-scripts.ts): an append
 *   creates the log if asked (with a random epoch made here: Lua has no good randomness),
 *   checks owner, producer, close and writer seq, writes, trims, refreshes the TTL and
 *   publishes the entries on the log's channel, all in one atomic step.
 * - The live feed subscribes to a log's channel while this node watches it (redis-feed.ts).
 * - A Redis that goes away makes calls reject with {@link EngineUnavailableError} within
 *   `connectWaitMs` / `commandTimeoutMs`, never with a false success, and the engine reconnects
 *   by itself (redis-client.ts). A Redis that comes back empty has lost the logs' meta: a log
 *   created again gets a new epoch, and old positions read as "other-epoch" or "missing".
 *
 * Durability is Redis's: run it with `appendonly yes` (and `appendfsync always` for every
 * acknowledged append to survive a power loss; `everysec` loses up to a second), and
 * `maxmemory-policy noeviction` — an evicted meta hash would make a log silently start over.
 * Replication is asynchronous: a failover may lose acknowledged appends. The promoted replica
 * then has an older tail, and a log written before the failover moves to a later epoch, one
 * that continues the old epoch up to that tail (redis-scripts.ts, `fork`): when a node connects
 * to the promoted Redis, or at its next append.
 *
 * The log index behind `list` (a sorted set under its own key, so one Cluster slot) is kept
 * beside the log's own keys, not atomically with them: a creation adds the name after its script,
 * a deletion removes it after its script, and `list` drops names whose log has expired.
 */

import { randomBytes } from "node:crypto"
import type { Cluster } from "ioredis"
import { defaultLogger, type Logger } from "../logger.js"
import {
  assertAppendOptions,
  assertDuration,
  assertLimit,
  assertLogName,
  assertNodeName,
  assertReadOptions,
  assertStopOptions,
  assertString,
  checkedNewEntries,
} from "./checks.js"
import { checkLogConfig } from "./config.js"
import type {
  AppendOptions,
  AppendResult,
  CreateResult,
  Engine,
  FeedSink,
  LogConfig,
  LogHead,
  LogList,
  NewEntry,
  ReadOptions,
  ReadResult,
  Retention,
  Signal,
  StopOptions,
} from "./engine.js"
import type { EngineHealth, HealthCapability } from "./health.js"
import { formatPosition, type Position, parsePosition, START } from "./position.js"
import {
  DEFAULT_COMMAND_TIMEOUT_MS,
  luaScript,
  openRedis,
  type RedisConnectionOptions,
  type RedisConnections,
  RedisSetupError,
} from "./redis-client.js"
import {
  appendedEntries,
  decodeEntry,
  decodeHead,
  decodeWriterSeq,
  encodeWriterSeq,
  newLogMeta,
  notificationEntries,
  retentionArgs,
  type StreamEntry,
} from "./redis-codec.js"
import { createExpiryWatch, type ExpiryWatch } from "./redis-expiry-watch.js"
import { RedisFeed } from "./redis-feed.js"
import { assertKeyPrefix, type GlobalKeys, globalKeys, type LogKeys, logKeys } from "./redis-keys.js"
import { probeRedis } from "./redis-probe.js"
import {
  APPEND_LUA,
  CREATE_LUA,
  DELETE_LUA,
  FORK_LUA,
  HEAD_LUA,
  LOCATE_LUA,
  READ_LUA,
  STOP_LUA,
} from "./redis-scripts.js"
import { riskySettings } from "./redis-settings.js"
import { RETENTION_DEFAULTS, type ResolvedRetention, resolveRetention } from "./retention.js"
import { EngineUnavailableError } from "./unavailable.js"

export { EngineUnavailableError, RedisSetupError }

/** Options of {@link createRedisEngine}: where Redis is (default `redis://127.0.0.1:6379`), and more. */
export interface RedisEngineOptions extends RedisConnectionOptions {
  /** Starts every key and channel name, so several Heralds can share a Redis. Default `"herald"`. */
  readonly keyPrefix?: string
  /** The retention of logs created without their own. Default: 10 000 entries, one hour. */
  readonly retention?: Retention
  /**
   * The clock of entry times, age retention, TTLs and leases (ms since the Unix epoch). Nodes
   * sharing a Redis must agree on the time (NTP): each stamps with its own. Default `Date.now`.
   */
  readonly now?: () => number
  /**
   * Receives what a live-feed sink or signal handler throws, and the connections' news: lost,
   * reconnected, settings Redis refuses. Default: {@link defaultLogger}.
   */
  readonly logger?: Logger
}

const SCRIPTS = {
  append: luaScript(APPEND_LUA),
  read: luaScript(READ_LUA),
  head: luaScript(HEAD_LUA),
  create: luaScript(CREATE_LUA),
  locate: luaScript(LOCATE_LUA),
  stop: luaScript(STOP_LUA),
  delete: luaScript(DELETE_LUA),
  fork: luaScript(FORK_LUA),
}

/** Logs asked at a time by the look for logs written before a failover. */
const FORK_SWEEP_PAGE = 100

/**
 * The distributed engine on Redis. Connects in the background; calls made before Redis answers
 * wait for it up to `connectWaitMs`. Needs Redis 7 (sharded pub/sub on a Cluster).
 */
export function createRedisEngine(options: RedisEngineOptions = {}): Engine & HealthCapability {
  return new RedisEngine(options)
}

/**
 * {@link createRedisEngine}, once its connections have had a first answer. Rejects with
 * {@link RedisSetupError}, the engine closed, when Redis refuses how it is connected to — a wrong
 * or missing password, a database it does not have, a Cluster that is none, or the other way
 * round — which no reconnect fixes. A Redis that is merely away (refused, timing out) does not
 * stop it: the engine reconnects by itself, as one from createRedisEngine does. Waits at most
 * `commandTimeoutMs` for that first answer.
 */
export async function openRedisEngine(options: RedisEngineOptions = {}): Promise<Engine & HealthCapability> {
  const engine = new RedisEngine(options)
  try {
    await engine.opened(options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS)
  } catch (error) {
    await engine.close()
    throw error
  }
  return engine
}

class RedisEngine implements Engine, HealthCapability {
  readonly name = "redis"
  readonly #prefix: string
  readonly #global: GlobalKeys
  readonly #retention: ResolvedRetention
  /** The engine's retention as every log script takes it last (redis-scripts.ts). */
  readonly #defaultRetention: [string, string]
  readonly #now: () => number
  readonly #logger: Logger
  readonly #redis: RedisConnections
  readonly #feed: RedisFeed
  readonly #expiry: ExpiryWatch
  /** Publishes a log's notification: SPUBLISH on a Cluster, so it stays on the log's shard. */
  readonly #publish: "PUBLISH" | "SPUBLISH"
  /** Starts this engine's append tokens, unique across nodes: a notification names its append. */
  readonly #origin = `${randomBytes(6).toString("hex")}:`
  #appends = 0
  readonly #inFlight = new Set<Promise<unknown>>()
  #closed = false
  /** A look for logs written before a failover is under way; another was asked meanwhile. */
  #forkSweep: { again: boolean } | undefined
  /** What the last look at Redis warned of its settings ({@link riskySettings}). */
  #settingWarnings = new Set<string>()

  constructor(options: RedisEngineOptions) {
    this.#prefix = options.keyPrefix ?? "herald"
    assertKeyPrefix(this.#prefix)
    this.#global = globalKeys(this.#prefix)
    this.#retention = resolveRetention(options.retention, RETENTION_DEFAULTS, "redis engine")
    this.#defaultRetention = retentionArgs(this.#retention)
    const clock = options.now ?? Date.now
    // Redis keeps times as whole milliseconds: every node must see the same entry time.
    this.#now = () => Math.trunc(clock())
    this.#logger = options.logger ?? defaultLogger()
    this.#redis = openRedis(options, this.#logger)
    this.#publish = this.#redis.cluster ? "SPUBLISH" : "PUBLISH"
    this.#feed = new RedisFeed({
      subscriber: this.#redis.subscriber,
      cluster: this.#redis.cluster,
      signalsChannel: this.#global.signals,
      logger: this.#logger,
      // A log watched here before it was made is looked at again every few seconds: one made on
      // another node (its append's notification, or its create's, says so) must be found before
      // it expires.
      made: (log) => this.#expiry.made(log),
      // One deleted is looked for as not made yet: its next incarnation has an expiry of its own.
      deleted: (log) => this.#expiry.gone(log),
    })
    this.#expiry = createExpiryWatch({
      head: (log) => this.head(log),
      lost: (log) => this.#feed.lost(log),
      now: this.#now,
      logger: this.#logger,
    })
    // Whenever the command connection is ready (Herald may have started before Redis), then,
    // with Redis found usable, the look for a failover. A Cluster tells no failover to its client
    // (a promoted replica stays in its pool, the client ready): there a log forks at its next
    // append only.
    this.#redis.command.checkOnReady(
      () => this.#lookAtRedis(),
      this.#redis.cluster ? undefined : () => this.#forkAfterFailover(),
    )
  }

  async create(log: string, config: LogConfig = {}): Promise<CreateResult> {
    const keys = this.#keys(log)
    const checked = checkLogConfig(config, this.#retention)
    const now = this.#now()
    const meta = newLogMeta(checked.config, checked.retention, now)
    const reply = (await this.#script("create", SCRIPTS.create, keys, [
      now,
      this.#publish,
      keys.channel,
      meta.length,
      ...meta,
    ])) as [CreateResult["status"], string[]]
    const [status, head] = reply
    // Whatever the status, the log is there now: a watch here waiting for it to be made looks at once.
    this.#expiry.made(log)
    if (status !== "conflict") await this.#index(log)
    return { status, head: decodeHead(log, head) }
  }

  async head(log: string): Promise<LogHead | undefined> {
    const reply = (await this.#script("head", SCRIPTS.head, this.#keys(log), [this.#now()])) as
      | string[]
      | null
    return reply === null ? undefined : decodeHead(log, reply)
  }

  async delete(log: string): Promise<boolean> {
    const keys = this.#keys(log)
    const deleted = await this.#script("delete", SCRIPTS.delete, keys, [
      this.#now(),
      this.#publish,
      keys.channel,
    ])
    await this.#redis.command.call("unlist a log", (client) => client.zrem(this.#global.logs, log))
    // A create on another node may have listed the log again between the script and the ZREM;
    // a look that fails (the engine closing) leaves the listing as the ZREM left it.
    const again = (await this.#script("head", SCRIPTS.head, keys, [this.#now()]).catch(() => null)) as
      | string[]
      | null
    if (again !== null) await this.#index(log)
    return deleted === 1
  }

  async list(options: { readonly prefix?: string; readonly after?: string; readonly limit: number }) {
    assertLimit(options.limit)
    const prefix = options.prefix ?? ""
    const logs: LogHead[] = []
    let from = options.after !== undefined && options.after >= prefix ? `(${options.after}` : `[${prefix}`
    let more = true
    // Each round consumes index names, so the loop ends with the index; names whose log expired
    // (the index does not learn of Redis's expiry) are dropped as they are met.
    while (more && logs.length < options.limit) {
      const want = options.limit - logs.length
      const names = await this.#redis.command.call("list logs", (client) =>
        client.zrangebylex(this.#global.logs, from, "+", "LIMIT", 0, want + 1),
      )
      const matching = names.filter((name) => name.startsWith(prefix))
      more = matching.length > want
      const batch = matching.slice(0, want)
      const heads = await Promise.all(batch.map((name) => this.head(name)))
      const gone = batch.filter((_, i) => heads[i] === undefined)
      if (gone.length > 0) {
        await this.#redis.command.call("unlist logs", (client) => client.zrem(this.#global.logs, ...gone))
        // One another node made again between its head and the ZREM is listed again.
        const again = await Promise.all(gone.map((name) => this.head(name)))
        for (const [i, name] of gone.entries()) if (again[i] !== undefined) await this.#index(name)
      }
      for (const head of heads) if (head !== undefined) logs.push(head)
      if (batch.length > 0) from = `(${batch[batch.length - 1]}`
    }
    const last = logs[logs.length - 1]
    return (more && last !== undefined ? { logs, next: last.name } : { logs }) satisfies LogList
  }

  async append(log: string, batch: readonly NewEntry[], options: AppendOptions = {}): Promise<AppendResult> {
    const keys = this.#keys(log)
    const entries = checkedNewEntries(batch)
    assertAppendOptions(options)
    const { producer, writerSeq, fence, create } = options
    const checked = create === undefined ? undefined : checkLogConfig(create, this.#retention)
    const now = this.#now()
    const meta = checked === undefined ? [] : newLogMeta(checked.config, checked.retention, now)
    // The append script's rarer options, as name/value pairs (see APPEND_LUA).
    const rare: string[] = []
    if (producer !== undefined)
      rare.push("p", producer.id, "pe", String(producer.epoch), "ps", String(producer.seq))
    if (writerSeq !== undefined) rare.push("w", encodeWriterSeq(writerSeq))
    if (options.epoch !== undefined) rare.push("ep", options.epoch)
    let fenceArgs = ["", ""]
    if (fence !== undefined && "takeOver" in fence) {
      // The lease lives outside the log's slot, so it is read before the script, not in it: a
      // lease renewed in between lets this takeover through, and the fence still keeps one
      // writer (the old owner's next append is refused).
      const expiry = await this.#redis.command.call("read a lease", (client) =>
        client.zscore(this.#global.leases, fence.from),
      )
      fenceArgs = ["takeover", fence.takeOver]
      rare.push("from", fence.from)
      if (expiry !== null && Number(expiry) > now) rare.push("leased", "1")
    } else if (fence !== undefined) {
      fenceArgs = ["owner", fence.owner]
    }
    const token = `${this.#origin}${++this.#appends}`
    const args: (string | number)[] = [
      now,
      token,
      this.#publish,
      keys.channel,
      options.close === true ? "1" : "",
      ...fenceArgs,
      rare.length,
      ...rare,
      meta.length,
      ...meta,
      entries.length,
    ]
    for (const entry of entries) args.push(entry.data, entry.key === undefined ? "" : `k${entry.key}`)
    args.push(notificationEntries(entries))
    this.#feed.expectOwn(token, keys.channel, entries)
    try {
      const reply = (await this.#script("append", SCRIPTS.append, keys, args)) as unknown[]
      // Any answer but missing means the log is there: told now, not on a notification (an append
      // of nothing to a log already there, or a refused one, publishes none).
      if (reply[0] !== "missing") this.#expiry.made(log)
      // A refused append may still have made its log (the checks run on the log it creates).
      if (checked !== undefined && reply[0] !== "appended" && reply[0] !== "conflict") await this.#index(log)
      return await this.#appendResult(log, token, now, entries, reply)
    } finally {
      this.#feed.forgetOwn(token)
    }
  }

  async read(log: string, after: Position, limit: number, options: ReadOptions = {}): Promise<ReadResult> {
    const keys = this.#keys(log)
    assertLimit(limit)
    assertReadOptions(options)
    let at = { epoch: "", seq: 0 }
    if (after !== START) {
      const parsed = typeof after === "string" ? parsePosition(after) : undefined
      if (parsed === undefined) return { held: false, after, reason: "malformed" }
      at = parsed
    }
    const reply = (await this.#script("read", SCRIPTS.read, keys, [
      this.#now(),
      at.epoch,
      at.seq,
      limit,
      options.touch === false ? "" : "1",
      options.maxBytes ?? "",
    ])) as [string, string, string, string, string, StreamEntry[]]
    const [status, epoch, afterSeq, tail, closed, stream] = reply
    if (status !== "held") return { held: false, after, reason: status as "missing" }
    const from = Number(afterSeq)
    const entries = stream.map((entry) => decodeEntry(epoch, entry))
    // Whether others follow, from the tail: an entry more than asked for may be a large one.
    const more = (entries[entries.length - 1]?.seq ?? from) < Number(tail)
    return {
      held: true,
      after: formatPosition(epoch, from),
      entries,
      more,
      tail: formatPosition(epoch, Number(tail)),
      closed: closed === "1" && !more,
    }
  }

  async locate(log: string, key: string): Promise<Position | undefined> {
    const keys = this.#keys(log)
    assertString(key, "key")
    const reply = (await this.#script("locate", SCRIPTS.locate, keys, [this.#now(), key])) as
      | [string, string]
      | null
    return reply === null ? undefined : formatPosition(reply[0], Number(reply[1]))
  }

  async requestStop(log: string, options: StopOptions = {}): Promise<boolean> {
    const keys = this.#keys(log)
    assertStopOptions(options)
    return (await this.#script("requestStop", SCRIPTS.stop, keys, [this.#now(), options.epoch ?? ""])) === 1
  }

  async watch(log: string, sink: FeedSink): Promise<() => void> {
    const keys = this.#keys(log)
    this.#assertOpen()
    const release = await this.#feed.watch(log, keys.channel, sink)
    // Closed while the subscription was confirmed: nothing will come, and nothing is to be held.
    if (this.#closed) {
      release()
      this.#assertOpen() // throws that the engine is closed
    }
    const forgetExpiry = this.#expiry.watch(log)
    return () => {
      forgetExpiry()
      release()
    }
  }

  async signal(signal: Signal): Promise<void> {
    this.#assertOpen()
    assertString(signal?.topic, "signal.topic")
    assertString(signal.payload, "signal.payload")
    // This node hears its own signal only if it holds the channel before the PUBLISH.
    await this.#feed.signalsActive()
    const message = JSON.stringify({ topic: signal.topic, payload: signal.payload })
    const channel = this.#global.signals
    await this.#redis.command.call("signal", (client) =>
      this.#redis.cluster ? client.spublish(channel, message) : client.publish(channel, message),
    )
  }

  onSignal(handler: (signal: Signal) => void): () => void {
    this.#assertOpen()
    return this.#feed.onSignal(handler)
  }

  async holdLease(node: string, ttlMs: number): Promise<void> {
    assertNodeName(node, "node")
    assertDuration(ttlMs, "ttlMs")
    const now = this.#now()
    await this.#redis.command.call("hold a lease", (client) =>
      client
        .multi()
        .zadd(this.#global.leases, now + ttlMs, node)
        .zremrangebyscore(this.#global.leases, "-inf", now)
        .exec(),
    )
  }

  async releaseLease(node: string): Promise<void> {
    assertNodeName(node, "node")
    await this.#redis.command.call("release a lease", (client) => client.zrem(this.#global.leases, node))
  }

  async liveNodes(): Promise<readonly string[]> {
    this.#assertOpen()
    const now = this.#now()
    const nodes = await this.#redis.command.call("list live nodes", (client) =>
      client.zrangebyscore(this.#global.leases, `(${now}`, "+inf"),
    )
    return nodes.sort()
  }

  /**
   * One PING: its round trip, or why Redis did not answer. On a Cluster, a PING goes to any node
   * that answers, so every master is asked, and the Cluster's own state (`cluster_state`): a
   * master away leaves its slots unserved, and the logs there refused. `full` while Redis
   * refuses writes for want of memory ({@link RedisLink.full}).
   */
  async health(): Promise<EngineHealth> {
    const started = performance.now()
    try {
      await this.#redis.command.call<unknown>("health", (client) =>
        client.isCluster ? clusterServes(client as Cluster) : client.ping(),
      )
      const latencyMs = performance.now() - started
      const full = this.#redis.command.full
      return full === undefined ? { status: "up", latencyMs } : { status: "full", latencyMs, reason: full }
    } catch (error) {
      return { status: "down", reason: error instanceof Error ? error.message : String(error) }
    }
  }

  /** Settles on the connections' first outcome ({@link RedisLink.opened}), the look at Redis included. */
  async opened(boundMs: number): Promise<void> {
    const links = new Set([this.#redis.command, this.#redis.subscriber])
    await Promise.all([...links].map((link) => link.opened(boundMs)))
  }

  /**
   * What the command connection's every ready looks at ({@link RedisLink.checkOnReady}): what
   * Redis lets the engine do, then the settings that put the logs at risk, each told when it is
   * first found (not again at each reconnect to the same settings).
   */
  async #lookAtRedis(): Promise<void> {
    await probeRedis(this.#redis.command, () => this.#feed.signalsActive(), {
      prefix: this.#prefix,
      global: this.#global,
      cluster: this.#redis.cluster,
    })
    const { client, address } = this.#redis.command
    const warnings = await riskySettings(client, address)
    for (const warning of warnings) if (!this.#settingWarnings.has(warning)) this.#logger.warn({}, warning)
    this.#settingWarnings = new Set(warnings)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await Promise.allSettled([...this.#inFlight])
    this.#expiry.close()
    this.#feed.close()
    const links = new Set([this.#redis.command, this.#redis.subscriber])
    await Promise.all([...links].map((link) => link.close()))
  }

  #keys(log: string): LogKeys {
    this.#assertOpen()
    assertLogName(log)
    return logKeys(this.#prefix, log)
  }

  /**
   * Once connected to a Redis promoted in a failover, moves every log last written under its
   * former master to a later epoch (redis-scripts.ts, `fork`) rather than at the log's next
   * append: a log idle until its new master changes id again (a restart) would then find neither
   * id, and the seqs of the entries the failover lost would be taken again unnoticed. The first
   * node to finish notes the Redis's id, so the others, and later reconnects, skip the look.
   */
  #forkAfterFailover(): void {
    if (this.#closed) return
    if (this.#forkSweep !== undefined) {
      this.#forkSweep.again = true
      return
    }
    const sweep = { again: false }
    this.#forkSweep = sweep
    void this.#forkSweepRound()
      .catch((error: unknown) => {
        if (this.#closed) return
        this.#logger.warn(
          { err: error },
          "herald redis engine: could not look for logs written before a failover; each is checked at its next append",
        )
      })
      .finally(() => {
        this.#forkSweep = undefined
        if (sweep.again) this.#forkAfterFailover()
      })
  }

  async #forkSweepRound(): Promise<void> {
    const info = await this.#redis.command.call("read the replication ids", (client) =>
      client.info("replication"),
    )
    const id = /master_replid:(\w+)/.exec(info)?.[1]
    const former = /master_replid2:(\w+)/.exec(info)?.[1]
    if (id === undefined || former === undefined || !/[^0]/.test(former)) return
    // Once per promoted Redis: every node reconnects, and each look reads every log.
    const checked = this.#global.forkSweep
    const done = await this.#redis.command.call("read the last fork check", (client) =>
      client.hget(checked, "id"),
    )
    if (done === id) return
    let forked = 0
    let from = "-"
    for (;;) {
      if (this.#closed) return
      const names = await this.#redis.command.call("list logs", (client) =>
        client.zrangebylex(this.#global.logs, from, "+", "LIMIT", 0, FORK_SWEEP_PAGE),
      )
      const replies = await Promise.all(
        names.map((name) =>
          this.#script("fork a log after a failover", SCRIPTS.fork, logKeys(this.#prefix, name), [
            this.#now(),
          ]),
        ),
      )
      forked += replies.filter((reply) => reply === 1).length
      const last = names[names.length - 1]
      if (names.length < FORK_SWEEP_PAGE || last === undefined) break
      from = `(${last}`
    }
    await this.#redis.command.call("note the fork check", (client) => client.hset(checked, "id", id))
    if (forked > 0) {
      this.#logger.warn(
        { forked },
        `herald redis engine: Redis failed over; ${forked} logs written before it moved to a later epoch, so that entries it may have lost are never replaced unnoticed`,
      )
    }
  }

  /** Adds `log` to the index behind `list`. A failure is logged: the log itself is stored. */
  async #index(log: string): Promise<void> {
    try {
      await this.#redis.command.call("list a log", (client) => client.zadd(this.#global.logs, 0, log))
    } catch (error) {
      this.#logger.warn({ err: error, log }, "herald redis engine: a new log could not be added to the list")
    }
  }

  /** Runs a log script; tracked, so that close() lets it settle. */
  #script(
    what: string,
    script: (typeof SCRIPTS)[keyof typeof SCRIPTS],
    keys: LogKeys,
    args: (string | number)[],
  ) {
    const { meta, stream, keyFirst, keyLast, keyNext, producers } = keys
    const run = this.#redis.command.script(
      what,
      script,
      [meta, stream, keyFirst, keyLast, keyNext, producers],
      [...args, ...this.#defaultRetention],
    )
    this.#inFlight.add(run)
    const forget = () => this.#inFlight.delete(run)
    run.then(forget, forget)
    return run
  }

  async #appendResult(
    log: string,
    token: string,
    time: number,
    given: readonly NewEntry[],
    reply: unknown[],
  ): Promise<AppendResult> {
    const [status, a, b, c, d, e, f, published] = reply as string[]
    switch (status) {
      case "appended": {
        const epoch = a as string
        const first = Number(b)
        if (f === "1") await this.#index(log)
        const entries =
          published === "1"
            ? await this.#feed.ownEntries(token, given, { epoch, first, time, closed: d === "1" })
            : appendedEntries(given, epoch, first, time)
        return {
          status,
          entries,
          tail: formatPosition(epoch, Number(c)),
          closed: d === "1",
          stopRequested: e === "1",
        }
      }
      case "duplicate":
        return { status, lastSeq: Number(a), tail: formatPosition(b as string, Number(c)), closed: d === "1" }
      case "missing":
      case "invalid-epoch-seq":
        return { status }
      case "closed":
        return { status, tail: formatPosition(a as string, Number(b)) }
      case "stale-epoch":
        return { status, currentEpoch: Number(a) }
      case "sequence-gap":
        return { status, expectedSeq: Number(a), receivedSeq: Number(b) }
      case "writer-seq-conflict":
        return { status, lastWriterSeq: decodeWriterSeq(a as string) }
      case "fenced":
        return { status, owner: a === "" ? undefined : a }
      case "conflict":
        return { status, head: decodeHead(log, reply[1] as string[]) }
      default:
        throw new Error(`redis engine: the append script replied ${JSON.stringify(reply)}.`)
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("redis engine: the engine is closed.")
  }
}

/**
 * `CLUSTER <what>` of the first node that answers: the Cluster's own command goes to any one node,
 * and one that is away would make the whole Cluster look down.
 */
async function askAnyNode(cluster: Cluster, what: "SLOTS" | "INFO"): Promise<unknown> {
  const nodes = cluster.nodes("all")
  if (nodes.length === 0) throw new Error("no node of the Cluster is known")
  // All at once: one that is away may take a command timeout to fail.
  try {
    return await Promise.any(nodes.map((node) => node.call("CLUSTER", what)))
  } catch (error) {
    throw error instanceof AggregateError ? error.errors[0] : error
  }
}

/**
 * Resolves when every master that serves slots answers and the Cluster says it serves every
 * slot. The masters come from `CLUSTER SLOTS`: ioredis drops a node whose connection broke from
 * the ones it knows, where the Cluster still gives it the slots.
 */
async function clusterServes(cluster: Cluster): Promise<void> {
  const slots = (await askAnyNode(cluster, "SLOTS")) as [number, number, [string, number]][]
  const masters = new Set(slots.map(([, , master]) => `${master?.[0]}:${master?.[1]}`))
  const known = new Map(
    cluster.nodes("master").map((node) => [`${node.options.host}:${node.options.port}`, node]),
  )
  await Promise.all(
    [...masters].map(async (address) => {
      const node = known.get(address)
      // Learnt again once it answers: ioredis does not look for a node it dropped by itself.
      if (node === undefined) cluster.refreshSlotsCache()
      const answered =
        node === undefined
          ? new Error("not connected")
          : await node.ping().then(
              () => undefined,
              (error: unknown) => error,
            )
      if (answered === undefined) return
      const reason = answered instanceof Error ? answered.message : String(answered)
      throw new Error(`the Cluster's master at ${address} does not answer: ${reason}`)
    }),
  )
  const info = String(await askAnyNode(cluster, "INFO"))
  const state = /cluster_state:(\w+)/.exec(info)?.[1]
  if (state !== "ok") throw new Error(`the Cluster does not serve every slot (cluster_state:${state})`)
}
