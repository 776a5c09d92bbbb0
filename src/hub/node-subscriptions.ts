import type { Engine } from "../engine/engine.js"
import { continuesEpoch } from "../engine/former-epochs.js"
import type { NodeLeaseView } from "../engine/node-lease.js"
import { parsePosition, START } from "../engine/position.js"
import { EngineUnavailableError } from "../engine/unavailable.js"
import type { Logger } from "../logger.js"
import { matching, type SubscriptionDirectory, type SubscriptionDocument } from "./subscriptions.js"

/**
 * The subscription API and subscription events across every node sharing the engine (one hub
 * on one Redis). Each node keeps a snapshot of its active subscriptions in a log of its own,
 * `<hub log>/nodes/<node>`, whose one entry (retention: 1) is the JSON array of its documents,
 * rewritten shortly after each change. The API lists this node's subscriptions as they are and
 * every other live node's (those holding a lease) from their snapshots, so another node's
 * subscriber shows up within the snapshot delay.
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
  readonly logger: Logger
  /** How long after a change the snapshot is written (changes meanwhile share the write). Default 250 ms. */
  readonly snapshotDelayMs?: number
}

/** A directory of every live node's subscriptions, and the upkeep of this node's snapshot. */
export interface NodeSubscriptions extends SubscriptionDirectory {
  /** This node's subscriptions changed: its snapshot is written after the delay. */
  changed(): void
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

/** Creates the hub-wide directory and starts its upkeep. */
export function createNodeSubscriptions(options: NodeSubscriptionsOptions): NodeSubscriptions {
  const { engine, node, current, announce, logger } = options
  const self = node.node
  const prefix = nodeLogPrefix(options.hubLog)
  const ownLog = `${prefix}${self}`
  const snapshotDelayMs = options.snapshotDelayMs ?? 250

  /** The snapshot in the engine may differ from the subscriptions now. */
  let dirty = true
  /** The epoch of this node's log as last written: another one means the log was taken over. */
  let ownEpoch: string | undefined
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

  const readSnapshot = async (log: string): Promise<SubscriptionDocument[]> => {
    // Retention keeps one entry: the first held is the newest.
    const read = await engine.read(log, START, 1, { touch: false })
    const entry = read.held ? read.entries[0] : undefined
    if (entry === undefined) return []
    try {
      const documents = JSON.parse(entry.data) as unknown
      return Array.isArray(documents) ? (documents as SubscriptionDocument[]) : []
    } catch {
      logger.warn({ log }, "subscriptions across nodes: an unreadable snapshot is ignored")
      return []
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

  const writeSnapshot = async (): Promise<void> => {
    // Without a lease the others may take the log over at any moment: wait until it is held.
    if (!dirty || closed || node.heldForMs() === 0) return
    const early = notBefore - performance.now()
    if (early > 0) {
      schedule(early)
      return
    }
    if (ownEpoch === undefined) {
      // A previous run under this id may have left subscriptions that ended with it.
      const left = await readSnapshot(ownLog)
      if (left.length > 0) await announce(left.map((document) => ({ ...document, active: false })))
    }
    // Cleared before the write: a change during it makes the next one.
    dirty = false
    const documents = current()
    const started = performance.now()
    const snapshot = JSON.stringify(documents)
    const pause = Math.min((performance.now() - started) * SNAPSHOT_PACE, node.ttlMs / 3)
    let result: Awaited<ReturnType<Engine["append"]>>
    try {
      result = await engine.append(ownLog, [{ data: snapshot }], {
        create: { owner: self, retention: { maxEntries: 1 } },
        fence: { owner: self },
      })
    } catch (error) {
      dirty = true
      throw error
    }
    notBefore = performance.now() + pause
    if (result.status !== "appended") {
      // "fenced": another node took the log over and will delete it; write again after that.
      dirty = true
      if (result.status !== "fenced")
        logger.error(
          { status: result.status, log: ownLog },
          "subscriptions across nodes: the snapshot was refused",
        )
      return
    }
    const epoch = parsePosition(result.tail)?.epoch
    const retaken = ownEpoch !== undefined && epoch !== ownEpoch && !(await continues(ownEpoch))
    ownEpoch = epoch
    // The log was taken over and deleted, so these were announced inactive: they are not.
    if (retaken) await announce(documents)
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

  const sweep = async (): Promise<void> => {
    if (node.heldForMs() < node.ttlMs) return
    const live = new Set(await engine.liveNodes())
    let after: string | undefined
    for (let page = 0; page < SWEEP_PAGES && !closed; page++) {
      const listed = await engine.list({
        prefix,
        limit: SWEEP_PAGE_SIZE,
        ...(after === undefined ? {} : { after }),
      })
      for (const head of listed.logs) {
        const owner = head.config.owner
        // A live owner: its node, or a node that took it over and is finishing the job. This
        // node's own log, or one it took over and could not finish with: finish now.
        if (owner === undefined || (owner === self && head.name === ownLog)) continue
        if (owner !== self && live.has(owner)) continue
        await takeOver(head.name, owner)
      }
      if (listed.next === undefined) break
      after = listed.next
    }
  }

  /** Ends a dead node's subscriptions: takes its log over, announces them inactive, deletes it. */
  const takeOver = async (log: string, owner: string): Promise<void> => {
    if (owner !== self) {
      const taken = await engine.append(log, [], { fence: { takeOver: self, from: owner } })
      // Another node won, or the owner came back: either way, not this node's job.
      if (taken.status !== "appended") return
    }
    const documents = await readSnapshot(log)
    await announce(documents.map((document) => ({ ...document, active: false })))
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

  const others = async (): Promise<SubscriptionDocument[]> => {
    const nodes = (await engine.liveNodes()).filter((name) => name !== self)
    const snapshots = await Promise.all(nodes.map((name) => readSnapshot(`${prefix}${name}`)))
    return snapshots.flat()
  }

  return {
    changed() {
      dirty = true
      schedule(Math.max(snapshotDelayMs, notBefore - performance.now()))
    },
    maintain,
    async list(matchType, match) {
      return matching([...current(), ...(await others())], matchType, match)
    },
    async get(id) {
      return (
        current().find((document) => document.id === id) ??
        (await others()).find((document) => document.id === id)
      )
    },
    async close() {
      closed = true
      clearInterval(upkeep)
      clearTimeout(delay)
      await work
      // Its subscribers are gone (announced inactive as each left): nothing left to list.
      if (ownEpoch !== undefined) {
        try {
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
