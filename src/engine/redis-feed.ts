/**
 * The redis engine's live feed on one node: Redis notifications in, {@link LocalFeed} out.
 *
 * A log's appends are published on its channel by the append script itself (store and notify
 * are one atomic step), with the entries in the message, so a watching node needs no read. This
 * node subscribes to a log's channel only while it has local sinks (reference-counted), on a
 * dedicated subscriber connection (SSUBSCRIBE on a Cluster, where each master has its own);
 * `watch` resolves once Redis has confirmed the subscription. Each notification becomes Entry
 * objects once, shared by every local sink.
 *
 * An append made on this node to a log watched here resolves only once this node's feed has
 * delivered it (as the memory and sqlite engines do, whose feed runs inside append), with the
 * same Entry objects in its result ({@link RedisFeed.expectOwn}). When it directly follows the
 * last entry this node's sinks got, it is delivered on the script's reply, without waiting for
 * its notification (which then is skipped); otherwise it waits for the notification, so the
 * sinks always get a log's appends in order. A notification names its append first, so that one
 * of this node's own is known without parsing it: skipped, or, when it comes before its reply,
 * its entries built from the appended data and the notification's few leading fields.
 *
 * After the subscriber connection comes back, every channel is subscribed again and only then
 * are all sinks told `onLost`: they re-read from where they are, with the feed already active,
 * so nothing stored meanwhile is missed. A Redis that came back empty makes those reads answer
 * "missing" or "other epoch": an honest gap, never a silent one.
 *
 * Signals travel on one global channel that every node holds. On a Cluster it is a shard channel
 * too: its one master relays every signal, so one node's signals arrive in the order sent (a
 * normal PUBLISH goes to any node and crosses the cluster bus, so two of them may swap).
 */

import type { Logger } from "../logger.js"
import type { Entry, FeedSink, NewEntry, Signal } from "./engine.js"
import { LocalFeed } from "./local-feed.js"
import type { RedisClient, RedisLink } from "./redis-client.js"
import { appendedEntries } from "./redis-codec.js"

/** A log's notification as the append, create and delete scripts publish it. */
interface Notification {
  /** Deleted: the watchers re-read (and find the log missing). */
  readonly x?: 1
  /**
   * Made (by a create or an append; an append's entries follow in a notification of their own):
   * only the expiry watch hears of it. (A node of an older version reads it as an append of no
   * entries, which reaches no sink.)
   */
  readonly m?: 1
  /** The appending node's token (first), epoch, first seq, time, closed, data and keys (false: none). */
  readonly o: string
  readonly e: string
  readonly f: number
  readonly t: number
  readonly c: 0 | 1
  readonly d?: readonly string[]
  readonly k?: readonly (string | false)[]
}

/** How an append's notification starts: its token, then epoch, first seq, time and closed. */
const NOTIFICATION_HEAD = /^\{"o":"[^"]*","e":"([^"]*)","f":(\d+),"t":(\d+),"c":([01])/
/** Where the token starts in an append's notification. */
const TOKEN_AT = '{"o":"'.length

/** One channel this node holds for its local sinks. */
interface Subscription {
  readonly log: string
  /** Local watches holding it. */
  count: number
  /** Settles when Redis has confirmed the subscription. */
  readonly active: Promise<void>
  /** Confirmed, and the connection has not broken since: its notifications arrive. */
  confirmed: boolean
  /** The last entry delivered to the local sinks since it was confirmed. */
  last: { readonly epoch: string; readonly seq: number } | undefined
}

/** An append of this node to a log watched here, between its script and its notification. */
interface OwnAppend {
  readonly channel: string
  /** What it appends. */
  readonly given: readonly NewEntry[]
  /** Built by whichever of the reply and the notification came first. */
  entries: readonly Entry[] | undefined
  /** Delivered to the local sinks (on its reply or its notification). */
  fed: boolean
  /** Its notification came. */
  echoed: boolean
  /** When its append returned, its notification not yet come (it is then skipped when it does). */
  forgottenAt: number | undefined
  /** The feed has delivered it, or will not. */
  settled: boolean
  /** Wakes its append, waiting for its delivery. */
  wake: (() => void) | undefined
}

/** The longest an append waits for its notification to reach this node's feed. */
const OWN_NOTIFICATION_WAIT_MS = 1000
/** How long the notification of an append delivered on its reply is waited for, to be skipped. */
const ECHO_KEPT_MS = 5000

/** Options of {@link RedisFeed}. */
export interface RedisFeedOptions {
  readonly subscriber: RedisLink
  readonly cluster: boolean
  readonly signalsChannel: string
  readonly logger: Logger
  /**
   * `log` (watched here) exists: an append to it was delivered, or its channel said it was made,
   * from any node.
   */
  readonly made: (log: string) => void
  /** `log` (watched here) was deleted, on any node (this one's own delete is notified here too). */
  readonly deleted: (log: string) => void
}

/** A node's subscriptions to log channels and to signals. */
export class RedisFeed {
  readonly #local: LocalFeed
  readonly #link: RedisFeedOptions["subscriber"]
  readonly #cluster: boolean
  readonly #signalsChannel: string
  readonly #logger: Logger
  readonly #made: (log: string) => void
  readonly #deleted: (log: string) => void
  readonly #subscriptions = new Map<string, Subscription>()
  readonly #signalHandlers = new Set<(signal: Signal) => void>()
  #signals: Promise<void> | undefined
  /** This node's appends awaiting their notification, by append token. */
  readonly #own = new Map<string, OwnAppend>()
  #echoSweep: NodeJS.Timeout | undefined
  /** The subscriber was ready once: a later "ready" (on a Cluster: "subscribersReady") is a reconnect. */
  #connected = false
  #closed = false

  constructor(options: RedisFeedOptions) {
    this.#link = options.subscriber
    this.#cluster = options.cluster
    this.#signalsChannel = options.signalsChannel
    this.#logger = options.logger
    this.#made = options.made
    this.#deleted = options.deleted
    this.#local = new LocalFeed((error) =>
      this.#logger.error({ err: error }, "herald redis engine: a live-feed sink threw"),
    )
    const client = this.#link.client
    client.on(this.#cluster ? "smessage" : "message", (channel: string, message: string) =>
      this.#onMessage(channel, message),
    )
    if (this.#cluster) {
      // ioredis re-creates the per-master subscribers after a topology change or a lost node (the
      // link tells once one is renewed); it also does so while the Cluster first connects, before
      // "ready".
      client.once("ready", () => {
        this.#connected = true
        this.#holdSignals()
      })
      this.#link.onSubscribersRenewed(() => {
        if (this.#connected) this.#recover()
      })
    } else {
      client.on("ready", () => {
        if (this.#connected) this.#recover()
        else this.#holdSignals()
        this.#connected = true
      })
      client.on("close", () => {
        for (const subscription of this.#subscriptions.values()) {
          subscription.confirmed = false
          subscription.last = undefined
        }
        this.#settleOwn()
      })
    }
    // Held from the start, so that this node hears signals sent from now on.
    this.signalsActive().catch(() => {})
  }

  /**
   * The first "ready": hold the signals channel if the subscription asked at start failed (Redis
   * was away longer than the link waits); a later "ready" resubscribes in {@link #recover}.
   */
  #holdSignals(): void {
    if (this.#closed) return
    this.signalsActive().catch((error: unknown) =>
      this.#logger.debug({ err: error }, "herald redis engine: subscribing to signals failed"),
    )
  }

  /** Delivers `log`'s live appends to `sink` once the subscription to `channel` is active. */
  async watch(log: string, channel: string, sink: FeedSink): Promise<() => void> {
    const remove = this.#local.add(log, sink)
    let subscription = this.#subscriptions.get(channel)
    if (subscription === undefined) {
      const fresh: Subscription = {
        log,
        count: 0,
        active: this.#subscribe(channel),
        confirmed: false,
        last: undefined,
      }
      fresh.active.then(
        () => {
          fresh.confirmed = true
        },
        () => {},
      )
      subscription = fresh
      this.#subscriptions.set(channel, subscription)
    }
    subscription.count++
    const held = subscription
    let released = false
    const release = () => {
      if (released) return
      released = true
      remove()
      if (--held.count > 0 || this.#subscriptions.get(channel) !== held) return
      this.#subscriptions.delete(channel)
      this.#settleOwn(channel)
      if (this.#closed) return
      // Commands on one connection run in order: a later watch's SUBSCRIBE follows this one.
      const client = this.#link.client
      const unsubscribe = this.#cluster ? client.sunsubscribe(channel) : client.unsubscribe(channel)
      unsubscribe.catch((error: unknown) =>
        this.#logger.debug({ err: error }, "herald redis engine: unsubscribe failed"),
      )
    }
    try {
      await held.active
    } catch (error) {
      release()
      throw error
    }
    return release
  }

  /** Resolves once this node holds the signals channel (subscribing again after a failure). */
  signalsActive(): Promise<void> {
    // A failed attempt may have reached ioredis's record all the same (see #ask).
    this.#signals ??= this.#link
      .call("subscribe to signals", (client) => this.#ask(client, this.#signalsChannel, true))
      .then(
        () => {},
        (error: unknown) => {
          this.#signals = undefined
          throw error
        },
      )
    return this.#signals
  }

  /** Receives signals from every node; returns the function that stops it. */
  onSignal(handler: (signal: Signal) => void): () => void {
    const registration = (signal: Signal) => handler(signal)
    this.#signalHandlers.add(registration)
    return () => {
      this.#signalHandlers.delete(registration)
    }
  }

  /**
   * Called before this node sends the append `token` of `given` to the log of `channel`: when
   * the log is watched here, {@link ownEntries} will wait for the append's delivery.
   * {@link forgetOwn} must follow, whatever the append's fate.
   */
  expectOwn(token: string, channel: string, given: readonly NewEntry[]): void {
    if (this.#subscriptions.get(channel)?.confirmed !== true) return
    this.#own.set(token, {
      channel,
      given,
      entries: undefined,
      fed: false,
      echoed: false,
      forgottenAt: undefined,
      settled: false,
      wake: undefined,
    })
  }

  /**
   * The entries of this node's stored append `token` of `given` (`first` in `epoch`, at `time`;
   * `closed`: it closed the log), once this node's feed has delivered them — the same objects —
   * or built here when the log is not watched here. Delivered at once when they directly follow
   * what the sinks got; else after the notification (bounded wait).
   */
  async ownEntries(
    token: string,
    given: readonly NewEntry[],
    at: { readonly epoch: string; readonly first: number; readonly time: number; readonly closed: boolean },
  ): Promise<readonly Entry[]> {
    const own = this.#own.get(token)
    if (own === undefined) return appendedEntries(given, at.epoch, at.first, at.time)
    own.entries ??= appendedEntries(given, at.epoch, at.first, at.time)
    if (own.fed || own.settled) return own.entries
    const subscription = this.#subscriptions.get(own.channel)
    const last = subscription?.last
    if (
      subscription?.confirmed === true &&
      own.entries.length > 0 &&
      last?.epoch === at.epoch &&
      last.seq + 1 === at.first
    ) {
      this.#feed(subscription, own.entries, at.epoch, at.first, at.closed)
      own.fed = true
      settle(own)
      return own.entries
    }
    let timer: NodeJS.Timeout | undefined
    await new Promise<void>((resolve) => {
      own.wake = resolve
      timer = setTimeout(resolve, OWN_NOTIFICATION_WAIT_MS)
    })
    clearTimeout(timer)
    return own.entries
  }

  /**
   * Forgets the append `token` ({@link expectOwn}); one delivered on its reply is kept a while,
   * so that its notification, when it comes, is skipped.
   */
  forgetOwn(token: string): void {
    const own = this.#own.get(token)
    if (own === undefined) return
    settle(own)
    if (!own.fed || own.echoed) {
      this.#own.delete(token)
      return
    }
    own.forgottenAt = Date.now()
    this.#echoSweep ??= setInterval(() => this.#sweepEchoes(), ECHO_KEPT_MS).unref()
  }

  /** Drops the appends whose notification never came (the connection broke meanwhile). */
  #sweepEchoes(): void {
    const before = Date.now() - ECHO_KEPT_MS
    for (const [token, own] of this.#own) {
      if (own.forgottenAt !== undefined && own.forgottenAt < before) this.#own.delete(token)
    }
    if (this.#own.size === 0) {
      clearInterval(this.#echoSweep)
      this.#echoSweep = undefined
    }
  }

  /** The log is gone without a notification (Redis expired it): its local sinks re-read. */
  lost(log: string): void {
    this.#local.lost(log)
  }

  /** Drops every subscription and sink. */
  close(): void {
    this.#closed = true
    this.#subscriptions.clear()
    this.#settleOwn()
    clearInterval(this.#echoSweep)
    this.#signalHandlers.clear()
    this.#local.clear()
  }

  #subscribe(channel: string): Promise<void> {
    return this.#link.call("subscribe to a log", async (client) => {
      await this.#ask(client, channel, false)
    })
  }

  /**
   * Subscribes to `channel`; `again`: it may have been asked before. A Cluster's ioredis records
   * a channel at each SSUBSCRIBE, once more when it holds it already, and asks every replaced
   * subscriber connection for all it recorded; SUNSUBSCRIBE drops every copy. So a channel asked
   * again is let go first: the SSUBSCRIBE follows on the same connection, and what the moment
   * between the two missed, the re-read after a replacement finds.
   */
  #ask(client: RedisClient, channel: string, again: boolean): Promise<unknown> {
    if (!this.#cluster) return client.subscribe(channel)
    // A failure is the connection's: the SSUBSCRIBE after it fails too, and says so.
    if (again) client.sunsubscribe(channel).catch(() => {})
    return client.ssubscribe(channel)
  }

  #onMessage(channel: string, message: string): void {
    if (channel === this.#signalsChannel) {
      this.#onSignal(message)
      return
    }
    const subscription = this.#subscriptions.get(channel)
    if (subscription === undefined) return
    const token = this.#own.size > 0 ? ownToken(message) : undefined
    const own = token === undefined ? undefined : this.#own.get(token)
    if (token !== undefined && own !== undefined) {
      this.#onOwn(subscription, token, own, message)
      return
    }
    let notification: Notification
    try {
      notification = JSON.parse(message) as Notification
    } catch (error) {
      this.#unreadable(subscription, error)
      return
    }
    if (notification.x === 1) {
      this.#deleted(subscription.log)
      this.#local.lost(subscription.log)
      return
    }
    if (notification.m === 1) {
      this.#made(subscription.log)
      return
    }
    const { e: epoch, f: first, t: time, c: closed, d: data = [], k: keys = [] } = notification
    const given = data.map(
      (payload, i): NewEntry => ({ data: payload, key: keys[i] === false ? undefined : keys[i] }),
    )
    this.#feed(subscription, appendedEntries(given, epoch, first, time), epoch, first, closed === 1)
  }

  /** The notification of this node's append `token`: skipped when delivered on its reply. */
  #onOwn(subscription: Subscription, token: string, own: OwnAppend, message: string): void {
    own.echoed = true
    if (own.forgottenAt !== undefined) this.#own.delete(token)
    if (own.fed) return
    const head = NOTIFICATION_HEAD.exec(message)
    if (head === null) {
      this.#unreadable(subscription, new Error(`an append's notification starts ${message.slice(0, 80)}`))
      return
    }
    const [, epoch = "", first, time, closed] = head
    own.entries ??= appendedEntries(own.given, epoch, Number(first), Number(time))
    own.fed = true
    this.#feed(subscription, own.entries, epoch, Number(first), closed === "1")
    settle(own)
  }

  /** The feed of a log cannot tell what a notification said: its sinks re-read. */
  #unreadable(subscription: Subscription, error: unknown): void {
    this.#logger.warn({ err: error }, "herald redis engine: an unreadable notification")
    this.#local.lost(subscription.log)
  }

  /** Hands a stored batch to the log's local sinks, and remembers where they are. */
  #feed(
    subscription: Subscription,
    entries: readonly Entry[],
    epoch: string,
    first: number,
    closed: boolean,
  ): void {
    if (entries.length > 0 && subscription.confirmed) {
      subscription.last = { epoch, seq: first + entries.length - 1 }
    }
    this.#local.deliver(subscription.log, entries, closed)
    this.#made(subscription.log)
  }

  /** Stops the waits of this node's appends (to `channel`, or all): no notification will come. */
  #settleOwn(channel?: string): void {
    for (const own of this.#own.values()) if (channel === undefined || own.channel === channel) settle(own)
  }

  #onSignal(message: string): void {
    let signal: Signal
    try {
      const { topic, payload } = JSON.parse(message) as Signal
      signal = { topic: String(topic), payload: String(payload) }
    } catch (error) {
      this.#logger.warn({ err: error }, "herald redis engine: an unreadable signal")
      return
    }
    for (const handler of [...this.#signalHandlers]) {
      if (!this.#signalHandlers.has(handler)) continue
      try {
        handler(signal)
      } catch (error) {
        this.#logger.error({ err: error }, "herald redis engine: a signal handler threw")
      }
    }
  }

  /**
   * The connection came back: subscribe to every channel again, then tell every sink it may
   * have missed appends. Signals sent while away are lost (at most once).
   */
  #recover(): void {
    if (this.#closed) return
    const held = [...this.#subscriptions]
    // A Cluster's ioredis asks the new connections for the channels it recorded, signals too:
    // they are asked again here only to know when that is done (or after a failure, signals).
    if (!this.#cluster) this.#signals = undefined
    const client = this.#link.client
    const resubscribed = Promise.all([
      this.signalsActive(),
      ...held.map(([channel]) => this.#ask(client, channel, true)),
    ])
    resubscribed.then(
      () => {
        for (const [channel, subscription] of held) {
          // Let go meanwhile, perhaps watched anew: that subscription's own SUBSCRIBE confirms it.
          if (this.#subscriptions.get(channel) !== subscription) continue
          subscription.confirmed = true
          subscription.last = undefined
        }
        this.#local.lostAll()
      },
      (error: unknown) => {
        // The connection broke again (on a Cluster: a subscriber was replaced meanwhile): the
        // next "ready" recovers. Sinks re-read meanwhile.
        this.#logger.debug({ err: error }, "herald redis engine: resubscribing after a reconnect failed")
        this.#local.lostAll()
      },
    )
  }
}

/** The token a notification starts with, if it is an append's. */
function ownToken(message: string): string | undefined {
  if (!message.startsWith('{"o":"')) return undefined
  const end = message.indexOf('"', TOKEN_AT)
  return end === -1 ? undefined : message.slice(TOKEN_AT, end)
}

/** Marks an append delivered (or never to be), and wakes it if it waits. */
function settle(own: OwnAppend): void {
  own.settled = true
  own.wake?.()
}
