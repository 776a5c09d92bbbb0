import type { Engine, LogHead } from "../engine/engine.js"
import { continuesEpoch, inCurrentEpoch } from "../engine/former-epochs.js"
import type { NodeLeaseView } from "../engine/node-lease.js"
import { parsePosition, START } from "../engine/position.js"
import { EngineUnavailableError } from "../engine/unavailable.js"
import type { Logger } from "../logger.js"
import {
  type Listed,
  matching,
  type SubscriptionDirectory,
  type SubscriptionDocument,
} from "./subscriptions.js"
import { EARLIEST } from "./update.js"
import { openUpdateLog, type UpdateMark } from "./update-log.js"

/**
 * The subscription API and subscription events across every node sharing the engine (one hub
 * on one Redis). Each node keeps a snapshot of its active subscriptions in a log of its own,
 * `<hub log>/nodes/<node>`, whose one entry (retention: 1) is the JSON array of its documents,
 * rewritten shortly after each change. The API lists this node's subscriptions as they are and
 * every other node's from their snapshots, so another node's subscriber shows up within the
 * snapshot delay.
 *
 * The cursor the API gives out with its list (draft-08: a client reads the list, then the
 * subscription events after the cursor) must not pass an event the list does not reflect, and a
 * snapshot lags its node's events. So each snapshot is stamped (its entry's key) with the hub
 * log's newest update, read just before the node's subscriptions are: an event of the node up
 * to that update is of a change made before, which the snapshot holds. The cursor is the oldest
 * stamp of the snapshots listed, or this node's newest update, read before its own
 * subscriptions. A node with no change stamps its snapshot again every third of the lease once
 * the hub log moved on, so the cursor is about that recent: not in the snapshot's log (that
 * would write every subscription again for a new key), but in a companion log of one entry,
 * `<node log> stamp` (no node id has a space, so it names no node), which goes with its node's
 * log: fenced alike, taken over and deleted with it. A node alone writes no re-stamp: nobody
 * reads its snapshot (the list reads this node's newest update instead).
 *
 * A snapshot is listed for as long as it is its node's, lease or not: its subscriptions end
 * with events stored after its stamp, by its node or by the node that takes it over (which
 * then lists it no more: the events follow). A node publishes no subscription event before its
 * first snapshot is written: none is stored while its subscriptions are listed nowhere.
 *
 * A node that dies leaves its snapshot behind. Live nodes look for such logs every third of the
 * lease: one of them takes the log over (an append with the fence `{ takeOver, from }`, which
 * exactly one node wins, and which refuses the dead node's next write should it come back),
 * publishes `active: false` events for the snapshot's subscriptions, and deletes the log. A node
 * judges others dead only once it has held its own lease for a full TTL: an outage of the
 * engine lapses every lease at once, and the others need that long to renew theirs.
 *
 * A node that finds its log taken over (its lease lapsed while it kept running) writes it again
 * once the other node has deleted it, and announces its subscriptions active again: the log's
 * new epoch says it happened. A node restarted under the same id finds its previous run's
 * snapshot and announces those subscriptions inactive before writing its own.
 */

/** Options of {@link createNodeSubscriptions}. */
export interface NodeSubscriptionsOptions {
  readonly engine: Engine
  /** The hub's log: the nodes' logs are named after it. */
  readonly hubLog: string
  readonly node: NodeLeaseView
  /** This node's active subscriptions now. */
  readonly current: () => readonly SubscriptionDocument[]
  /** Publishes subscription events; resolves once they are stored. */
  readonly announce: (documents: readonly SubscriptionDocument[]) => Promise<void>
  /** Resolves once the events of this node's subscriptions published so far are stored (or failed). */
  readonly settled: () => Promise<void>
  readonly logger: Logger
  /** How long after a change the snapshot is written (changes meanwhile share the write). Default 250 ms. */
  readonly snapshotDelayMs?: number
}

/** A directory of every node's subscriptions, and the upkeep of this node's snapshot. */
export interface NodeSubscriptions extends SubscriptionDirectory {
  /** This node's subscriptions changed: its snapshot is written after the delay. */
  changed(): void
  /**
   * Publishes the events of this node's subscriptions, once its snapshot was first written (or
   * could not be for good, or the directory closes); resolves once they are stored.
   */
  publish(documents: readonly SubscriptionDocument[]): Promise<void>
  /** Runs one round of upkeep at once: the snapshot if due, a check of this node's log, a sweep of dead nodes'. */
  maintain(): Promise<void>
}

/**
 * A snapshot holds every subscription of the node, and serializing it costs in proportion:
 * thousands of subscriptions with long matchers take seconds. The next write waits this many
 * times as long as the last serialization took (at most a third of the lease), so that snapshots
 * take at most about a twentieth of the node's time however many subscribers churn; other nodes
 * then see changes later. The engine's own time does not count: a slow store is not a reason to
 * write less often once it answers again.
 */
const SNAPSHOT_PACE = 19

/** Pages of the logs listed per sweep, and logs per page: a bound, not a limit on nodes in practice. */
const SWEEP_PAGES = 100
const SWEEP_PAGE_SIZE = 100

/** The prefix of every node's log of the hub log `hubLog`. */
export function nodeLogPrefix(hubLog: string): string {
  return `${hubLog}/nodes/`
}

/** A node's snapshot as read: its subscriptions, and its stamp (`undefined`: before any update). */
interface Snapshot {
  readonly documents: SubscriptionDocument[]
  readonly stamp: UpdateMark | undefined
}

/** Ends the name of a node's companion log of re-stamps (a node id has no space). */
const RESTAMP_SUFFIX = " stamp"

/** The key of a snapshot's entry: its stamp's position, a space, its id (a position has no space). */
function stampKey(stamp: UpdateMark): string {
  return `${stamp.position} ${stamp.id}`
}

/** The stamp a snapshot entry's key holds; `undefined` for none (an empty hub log, or an older Herald's). */
function parseStamp(key: string | undefined): UpdateMark | undefined {
  if (key === undefined) return undefined
  const space = key.indexOf(" ")
  const position = key.slice(0, space)
  return space < 0 || parsePosition(position) === undefined
    ? undefined
    : { position, id: key.slice(space + 1) }
}

/**
 * The newer of a snapshot's stamp and a re-stamp read before it (both valid for it): the
 * re-stamp when the snapshot has none (the hub log was empty) or it is later in the same
 * incarnation of the hub log; else the snapshot's.
 */
function newer(stamp: UpdateMark | undefined, restamp: UpdateMark | undefined): UpdateMark | undefined {
  if (restamp === undefined) return stamp
  if (stamp === undefined) return restamp
  const at = parsePosition(stamp.position)
  const again = parsePosition(restamp.position)
  return at !== undefined && again !== undefined && again.epoch === at.epoch && again.seq > at.seq
    ? restamp
    : stamp
}

/** Creates the hub-wide directory and starts its upkeep. */
export function createNodeSubscriptions(options: NodeSubscriptionsOptions): NodeSubscriptions {
  const { engine, node, current, announce, logger } = options
  const self = node.node
  const prefix = nodeLogPrefix(options.hubLog)
  const updates = openUpdateLog(engine, options.hubLog)
  const ownLog = `${prefix}${self}`
  const ownRestampLog = `${ownLog}${RESTAMP_SUFFIX}`
  const snapshotDelayMs = options.snapshotDelayMs ?? 250

  /** The snapshot in the engine may differ from the subscriptions now. */
  let dirty = true
  /** The epoch of this node's log as last written: another one means the log was taken over. */
  let ownEpoch: string | undefined
  /** The stamp last written for this node's snapshot (its own or a re-stamp); unset before the first. */
  let stamped: { readonly stamp: UpdateMark | undefined } | undefined
  /** Subscription events waiting at the gate of {@link NodeSubscriptions.publish}. */
  let held = 0
  /** Opens the gate of {@link NodeSubscriptions.publish}. */
  let openGate: () => void = () => {}
  const gate = new Promise<void>((resolve) => {
    openGate = () => {
      clearTimeout(gateDeadline)
      resolve()
    }
  })
  // Not for ever: a node that cannot hold its lease (or write its snapshot) would keep its
  // subscription events, and their memory, without bound. After a lease they go out; a list may
  // miss them until the snapshot is written.
  const gateDeadline = setTimeout(() => {
    logger[held > 0 ? "warn" : "debug"](
      { held, leaseMs: node.ttlMs },
      "subscriptions across nodes: no snapshot written within a lease; subscription events are published without one, so the subscription API may miss them until it is",
    )
    openGate()
  }, node.ttlMs)
  gateDeadline.unref()
  let delay: NodeJS.Timeout | undefined
  /** When the next snapshot may be written (performance.now()): see SNAPSHOT_PACE. */
  let notBefore = 0
  let work: Promise<void> = Promise.resolve()
  let closed = false

  /** Runs `task` after what is running (one task at a time), logging what it throws. */
  const serial = (task: () => Promise<void>): Promise<void> => {
    work = work.then(task).catch((error: unknown) => {
      // An engine that is away fails every round until it is back: that is /readyz's to say.
      const level = error instanceof EngineUnavailableError ? "debug" : "warn"
      logger[level]({ err: error }, "subscriptions across nodes: upkeep failed; retrying")
    })
    return work
  }

  /** The one entry of `log` (retention 1: the first held is the newest), if any. */
  const readOnly = async (log: string) => {
    const read = await engine.read(log, START, 1, { touch: false })
    return read.held ? read.entries[0] : undefined
  }

  /**
   * A node's snapshot, or `undefined` when its log is gone (or holds none), with the newer of
   * its own stamp and its node's re-stamp.
   *
   * The stamp given out must never be newer than what the snapshot read reflects. A re-stamp is
   * written only while the node's subscriptions are those of its last snapshot, and it was read
   * before that was checked: the snapshot it was written for reflects every event of the node
   * up to it, and so does any snapshot written after it (serialized later). So the re-stamp is
   * read BEFORE the snapshot: the snapshot then read is the one it was written for or a later
   * one. Read the other way round, the snapshot could be older than a re-stamp written after a
   * change it lacks.
   */
  const readSnapshot = async (log: string): Promise<Snapshot | undefined> => {
    const again = parseStamp((await readOnly(`${log}${RESTAMP_SUFFIX}`))?.key)
    const entry = await readOnly(log)
    if (entry === undefined) return undefined
    const stamp = newer(parseStamp(entry.key), again)
    try {
      const documents = JSON.parse(entry.data) as unknown
      return { documents: Array.isArray(documents) ? (documents as SubscriptionDocument[]) : [], stamp }
    } catch {
      logger.warn({ log }, "subscriptions across nodes: an unreadable snapshot is ignored")
      return { documents: [], stamp }
    }
  }

  /** Writes the snapshot `ms` from now, unless a write is already scheduled. */
  const schedule = (ms: number): void => {
    if (delay !== undefined || closed) return
    delay = setTimeout(() => {
      delay = undefined
      void serial(writeSnapshot)
    }, ms)
    delay.unref()
  }

  /**
   * Writes this node's snapshot when its subscriptions changed, or stamps it again when the hub
   * log moved on since (in the companion log: see {@link readSnapshot}).
   */
  const writeSnapshot = async (): Promise<void> => {
    if (closed) return
    // Without a lease the others may take the log over at any moment: wait until it is held,
    // soon when this node's subscription events wait for its first snapshot.
    if (node.heldForMs() === 0) {
      if (ownEpoch === undefined) schedule(snapshotDelayMs)
      return
    }
    if (!dirty && stamped === undefined) return
    // Read before the subscriptions: every event of theirs up to it is of a change made before.
    const stamp = await updates.newest()
    // No change since the last snapshot, checked after the stamp was read: it holds them all.
    if (!dirty) return await restamp(stamp)
    const early = notBefore - performance.now()
    if (early > 0) {
      schedule(early)
      return
    }
    if (ownEpoch === undefined) {
      // A previous run under this id may have left subscriptions that ended with it.
      const left = (await readSnapshot(ownLog))?.documents ?? []
      if (left.length > 0) await announce(left.map((document) => ({ ...document, active: false })))
    }
    // Cleared before the write: a change during it makes the next one.
    dirty = false
    const started = performance.now()
    const snapshot = JSON.stringify(current())
    const pause = Math.min((performance.now() - started) * SNAPSHOT_PACE, node.ttlMs / 3)
    let result: Awaited<ReturnType<Engine["append"]>>
    try {
      result = await engine.append(
        ownLog,
        [{ data: snapshot, ...(stamp === undefined ? {} : { key: stampKey(stamp) }) }],
        { create: { owner: self, retention: { maxEntries: 1 } }, fence: { owner: self } },
      )
    } catch (error) {
      dirty = true
      // An engine away may take the write later; one refusing it (too many logs) will not.
      if (!(error instanceof EngineUnavailableError)) openGate()
      throw error
    }
    notBefore = performance.now() + pause
    if (result.status !== "appended") {
      // "fenced": another node took the log over and will delete it; write again after that.
      dirty = true
      if (result.status !== "fenced") {
        openGate()
        logger.error(
          { status: result.status, log: ownLog },
          "subscriptions across nodes: the snapshot was refused",
        )
      }
      return
    }
    stamped = { stamp }
    openGate()
    const epoch = parsePosition(result.tail)?.epoch
    const retaken = ownEpoch !== undefined && epoch !== ownEpoch && !(await continues(ownEpoch))
    ownEpoch = epoch
    // The log was taken over and deleted, so its subscriptions were announced inactive: those
    // active now are not (one ended since the write has its own event, not to be undone).
    if (retaken) await announce(current())
  }

  /**
   * Stamps this node's unchanged snapshot again with `stamp` in its companion log, when the hub
   * log moved on since the last stamp and another live node may read it.
   */
  const restamp = async (stamp: UpdateMark | undefined): Promise<void> => {
    if (stamp === undefined || stamp.position === stamped?.stamp?.position) return
    if (!(await engine.liveNodes()).some((other) => other !== self)) return
    const result = await engine.append(ownRestampLog, [{ data: "", key: stampKey(stamp) }], {
      create: { owner: self, retention: { maxEntries: 1 } },
      fence: { owner: self },
    })
    if (result.status === "appended") stamped = { stamp }
    // "fenced": taken over with this node's log, which is then written again.
    else dirty = true
  }

  /** Whether this node's log is in `epoch` or one that continues it (a replication fork). */
  const continues = async (epoch: string): Promise<boolean> => {
    const head = await engine.head(ownLog)
    return head !== undefined && continuesEpoch(head, epoch)
  }

  /** Whether this node's log is still its own (an outage may have let another node take it). */
  const checkOwnLog = async (): Promise<void> => {
    if (ownEpoch === undefined || dirty) return
    const head = await engine.head(ownLog)
    const mine = head?.config.owner === self && continuesEpoch(head, ownEpoch)
    if (!mine) dirty = true
  }

  /** The heads of the nodes' logs, a page at a time (at most SWEEP_PAGES of them). */
  async function* nodeLogs(): AsyncGenerator<LogHead> {
    let after: string | undefined
    for (let page = 0; page < SWEEP_PAGES && !closed; page++) {
      const listed = await engine.list({
        prefix,
        limit: SWEEP_PAGE_SIZE,
        ...(after === undefined ? {} : { after }),
      })
      yield* listed.logs
      if (listed.next === undefined) return
      after = listed.next
    }
  }

  const sweep = async (): Promise<void> => {
    if (node.heldForMs() < node.ttlMs) return
    const live = new Set(await engine.liveNodes())
    for await (const head of nodeLogs()) {
      const owner = head.config.owner
      // A live owner: its node, or a node that took it over and is finishing the job. This
      // node's own log, or one it took over and could not finish with: finish now.
      if (owner === undefined || (owner === self && (head.name === ownLog || head.name === ownRestampLog)))
        continue
      if (owner !== self && live.has(owner)) continue
      await takeOver(head.name, owner)
    }
  }

  /** Takes `log` over from `owner`: whether this node won it (or holds it already). */
  const fenceOut = async (log: string, owner: string): Promise<boolean> => {
    if (owner === self) return true
    const taken = await engine.append(log, [], { fence: { takeOver: self, from: owner } })
    return taken.status === "appended"
  }

  /**
   * Ends a dead node's subscriptions: takes its log and its companion over, announces them
   * inactive, deletes both. A companion left alone (its node log gone) is just deleted.
   */
  const takeOver = async (log: string, owner: string): Promise<void> => {
    // Another node won, or the owner came back: either way, not this node's job.
    if (!(await fenceOut(log, owner))) return
    if (log.endsWith(RESTAMP_SUFFIX)) {
      await engine.delete(log)
      return
    }
    // The dead node's re-stamps are refused too, should it come back.
    const restampLog = `${log}${RESTAMP_SUFFIX}`
    const restampHead = await engine.head(restampLog)
    if (restampHead?.config.owner !== undefined) await fenceOut(restampLog, restampHead.config.owner)
    const documents = (await readSnapshot(log))?.documents ?? []
    await announce(documents.map((document) => ({ ...document, active: false })))
    await engine.delete(restampLog)
    await engine.delete(log)
    logger.info(
      { log, subscriptions: documents.length },
      "subscriptions across nodes: ended the subscriptions of a node whose lease expired",
    )
  }

  const maintain = () =>
    serial(async () => {
      if (closed) return
      await checkOwnLog()
      await writeSnapshot()
      await sweep()
    })
  const upkeep = setInterval(() => void maintain(), node.ttlMs / 3)
  upkeep.unref()
  // The first snapshot at once: this node's subscription events wait for it.
  schedule(0)

  /**
   * Every node's subscriptions: this node's as they are, the others' from their snapshots (a
   * dead node's too, until another takes its log over to end them), with the cursor that goes
   * with them.
   */
  const everyNode = async (): Promise<Listed<SubscriptionDocument[]>> => {
    const own = await updates.newest()
    const logs: string[] = []
    for await (const head of nodeLogs()) {
      // One taken over is being ended by the node that took it: their inactive events follow.
      if (head.name !== ownLog && head.config.owner === head.name.slice(prefix.length)) logs.push(head.name)
    }
    // One deleted since it was listed had its subscriptions' last events stored first: skipped.
    const snapshots = (await Promise.all(logs.map(readSnapshot))).filter((snapshot) => snapshot !== undefined)
    return {
      value: [...current(), ...snapshots.flatMap((snapshot) => snapshot.documents)],
      lastEventId: await oldest([own, ...snapshots.map((snapshot) => snapshot.stamp)]),
    }
  }

  /** When a cursor trimmed from the hub log was last logged at warn (performance.now()). */
  let trimmedWarnedAt: number | undefined

  /**
   * The cursor of the oldest of `stamps` (`undefined`: before any update): its id, or `earliest`
   * when one is not of the hub log's current incarnation, nor of one it continues (a log made
   * again): then nothing of the current one is known to be in its snapshot. `earliest` too when
   * the oldest is below the log's first held update: the id of an update the log no longer holds
   * would answer a subscription with herald-id-too-old.
   */
  const oldest = async (stamps: readonly (UpdateMark | undefined)[]): Promise<string> => {
    if (stamps.includes(undefined)) return EARLIEST
    // Compared in the current incarnation (a Redis failover may have forked the log).
    const head = await engine.head(updates.name)
    const seqs = stamps.map((stamp) => {
      const position = stamp === undefined ? undefined : parsePosition(stamp.position)
      return (head && position && inCurrentEpoch(head, position))?.seq
    })
    let oldestAt = 0
    for (const [i, seq] of seqs.entries()) {
      if (seq === undefined) return EARLIEST
      if (seq < (seqs[oldestAt] as number)) oldestAt = i
    }
    const floor = head === undefined ? undefined : parsePosition(head.floor)?.seq
    if (floor !== undefined && (seqs[oldestAt] as number) < floor) {
      // Once a minute at warn: a hub log too short for the lease says so on every list.
      const now = performance.now()
      const warn = trimmedWarnedAt === undefined || now - trimmedWarnedAt >= 60_000
      if (warn) trimmedWarnedAt = now
      logger[warn ? "warn" : "debug"](
        { log: updates.name, stamp: stamps[oldestAt]?.id },
        "subscription API: a node's snapshot is older than the hub log's oldest update, so the cursor is earliest; a retention that holds a lease's worth of updates avoids it",
      )
      return EARLIEST
    }
    return stamps[oldestAt]?.id ?? EARLIEST
  }

  return {
    changed() {
      dirty = true
      schedule(Math.max(snapshotDelayMs, notBefore - performance.now()))
    },
    async publish(documents) {
      held++
      try {
        await gate
      } finally {
        held--
      }
      await announce(documents)
    },
    maintain,
    async list(matchType, match) {
      const { value, lastEventId } = await everyNode()
      return { value: matching(value, matchType, match), lastEventId }
    },
    async get(id) {
      const { value, lastEventId } = await everyNode()
      return { value: value.find((document) => document.id === id), lastEventId }
    },
    async close() {
      closed = true
      // Events held for a first snapshot that will not come now go out, and are waited for.
      openGate()
      clearInterval(upkeep)
      clearTimeout(delay)
      await work
      await options.settled()
      // Its subscribers are gone (announced inactive as each left): nothing left to list.
      if (ownEpoch !== undefined) {
        try {
          await engine.delete(ownRestampLog)
          await engine.delete(ownLog)
        } catch (error) {
          logger.warn(
            { err: error, log: ownLog },
            "subscriptions across nodes: could not delete this node's snapshot; a live node will",
          )
        }
      }
    },
  }
}
