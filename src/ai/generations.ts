import { randomBytes } from "node:crypto"
import type { Engine, LogHead, Signal } from "../engine/engine.js"
import { StorageFullError } from "../engine/storage-full.js"
import { defaultLogger, failureStreak, type Logger, repeatedWarning } from "../logger.js"
import type { GenerationObserver } from "./ai-metrics.js"
import { DeadNodeScan } from "./dead-node-scan.js"
import { type GenerationActivity, RecentGenerations } from "./generation-activity.js"
import { generationLog, newGenerationId } from "./generation-id.js"
import { type GenerationMeta, metaFromRecord, metaToRecord } from "./generation-meta.js"
import { GenerationRun } from "./generation-run.js"
import { LoopLoad } from "./loop-load.js"
import { nonNegative, positive } from "./option-checks.js"
import type { Provider } from "./provider.js"
import type { TurnRecorder } from "./reasoning-memory.js"
import { remoteViewerMark } from "./remote-viewer-mark.js"
import type { NormalizedRequest } from "./request.js"
import { markedGeneration, runningMarker } from "./running-marker.js"
import { settledWithin } from "./settled-within.js"
import { type EndEntry, serializeEntry } from "./stored-entry.js"
import { storedStats } from "./stored-stats.js"

/** The signal asking the node that runs a generation to stop it; payload: the generation id. */
export const CANCEL_SIGNAL = "ai.cancel"
/** The signal telling the node that runs a generation that someone watches it elsewhere. */
export const VIEWER_SIGNAL = "ai.viewer"

/** Options of {@link createGenerations}; every one has a default. */
export interface GenerationsOptions {
  readonly engine: Engine
  /** This node's id, unique among the nodes sharing the engine. Default: random. */
  readonly node?: string
  /**
   * How long token deltas wait to be merged before an append, in ms. Default 0: a token that
   * finds the store idle is appended at once, and shown one append after it came; the tokens
   * that come while an append is in flight go in the next one. More merges more per append.
   */
  readonly flushMs?: number
  /**
   * How long token deltas wait to be merged while this node's event loop is saturated (busy 90 %
   * of the time, until below 75 %), in ms, when longer than `flushMs`. Default 50: a node
   * streaming more tokens than one core keeps up with appends, stores and sends several per
   * entry, and so does less work per token, rather than fall further behind. 0: never.
   */
  readonly saturatedFlushMs?: number
  /** How long a generation is kept after its last write or read, in ms. Default 1 hour. */
  readonly retentionMs?: number
  /** How long a generation runs on with no viewer, in ms (`0`: stop at once, `Infinity`: finish). Default 30 000. */
  readonly disconnectGraceMs?: number
  /** An append slower than this counts as a failed store, in ms. Default 10 000. */
  readonly storeTimeoutMs?: number
  /** Provider entries waiting for the store past which the upstream is not read. Default 1024. */
  readonly maxPendingEntries?: number
  /** This node's engine lease, renewed a third of the way through, in ms. Default 15 000. */
  readonly leaseMs?: number
  /**
   * How long a running generation may store nothing before this node reads its stop flag, in ms.
   * A cancel sets the flag and signals the node running the generation, which stops at once; were
   * the signal lost (a subscription broken at that instant), a generation learns of the flag from
   * its next append, and one whose upstream is stalled (before the first token, or mid-answer)
   * makes none: this bounds how long its model runs on. Default 1 000.
   */
  readonly stopCheckMs?: number
  readonly logger?: Logger
  /** Told when generations start and end (the metrics). */
  readonly observer?: GenerationObserver
  /** The clock, in ms since the Unix epoch (tests). Default `Date.now`. */
  readonly now?: () => number
}

/** What {@link Generations.start} needs. */
export interface GenerationSpec {
  /** Its id (see generation-id.ts); default: a new one. */
  readonly id?: string
  readonly provider: Provider
  readonly request: NormalizedRequest
  readonly meta: GenerationMeta
  /** This generation's disconnect grace (the request's `Herald-On-Disconnect`), else the default. */
  readonly disconnectGraceMs?: number
  /**
   * Runs once the generation's log exists and before the upstream is asked. `false`: another
   * request took this work (an `Idempotency-Key` claimed first), so the log is deleted unstarted
   * and {@link Generations.start} throws {@link NotClaimedError}.
   */
  readonly claim?: () => Promise<boolean>
  /** Records its tool calls for the reasoning memory (reasoning-memory.ts). */
  readonly recorder?: TurnRecorder
}

/** A generation not started because its {@link GenerationSpec.claim} went to another request. */
export class NotClaimedError extends Error {
  override readonly name = "NotClaimedError"
}

/** Refused because the node is shutting down: the client should retry, elsewhere or later. */
export class ShuttingDownError extends Error {
  override readonly name = "ShuttingDownError"
}

/** The generations of one node: it starts them, stops them on request from any node, and shuts down cleanly. */
export interface Generations {
  readonly node: string
  readonly engine: Engine
  /** How long a generation is kept after its last write or read, in ms. */
  readonly retentionMs: number
  /** An append slower than this counts as a failed store, in ms. */
  readonly storeTimeoutMs: number
  /**
   * Creates the generation's log and starts it. Throws {@link ShuttingDownError} while closing,
   * {@link NotClaimedError} when its claim fails.
   */
  start(spec: GenerationSpec): Promise<GenerationRun>
  /** The generation if it runs on this node. */
  running(id: string): GenerationRun | undefined
  /**
   * Asks the generation to stop, on whichever node runs it: a durable flag its next append
   * sees, and a signal that reaches its node at once. `false` when there is no such generation.
   * Rejects with a {@link StorageFullError} when the store is full: the flag is not stored, but the
   * signal is sent all the same (a Redis past its maxmemory still publishes), so the run stops.
   */
  cancel(id: string): Promise<boolean>
  /**
   * Closes generation `id` as `interrupted` when it is still open but the node that ran it holds
   * no lease any more (it died): whoever notices writes the end, fenced so the old owner can never
   * write again, and no reader waits forever. `true` when it did.
   */
  reapIfOrphaned(id: string, head: LogHead): Promise<boolean>
  /**
   * A viewer of `id` on this node; call the returned function when it leaves. While a viewer
   * follows a generation that another node runs, this node checks that node's lease every third
   * of `leaseMs` and closes the generation as `interrupted` once it died. That node is told of
   * the viewers here once (the `ai.viewer` signal, and a mark that outlasts a lost signal), and
   * then never stops the generation for a disconnect.
   */
  watch(id: string): () => void
  /** What this node runs now, and what ended here lately (for a dashboard). */
  activity(): GenerationActivity
  /**
   * Takes no new generations, lets running ones finish for `deadlineMs`, then stops the rest
   * as `interrupted`, and gives the lease up. Leaves the engine open (it is the caller's).
   */
  close(options?: { readonly deadlineMs?: number }): Promise<void>
}

/** The generations of this node on `options.engine`. */
export function createGenerations(options: GenerationsOptions): Generations {
  const { engine } = options
  const node = options.node ?? `node-${randomBytes(6).toString("base64url")}`
  const logger = options.logger ?? defaultLogger()
  const now = options.now ?? Date.now
  const retentionMs = positive("retentionMs", options.retentionMs ?? 3_600_000)
  const defaultGraceMs = nonNegative("disconnectGraceMs", options.disconnectGraceMs ?? 30_000)
  const leaseMs = positive("leaseMs", options.leaseMs ?? 15_000)
  const leaseTickMs = Math.max(1, Math.floor(leaseMs / 3))
  const stopCheckMs = positive("stopCheckMs", options.stopCheckMs ?? 1_000)
  const flushMs = nonNegative("flushMs", options.flushMs ?? 0)
  const saturatedFlushMs = nonNegative("saturatedFlushMs", options.saturatedFlushMs ?? 50)
  const loopLoad = new LoopLoad()
  const settings = {
    engine,
    node,
    mergeWindowMs: () => (saturatedFlushMs > flushMs && loopLoad.saturated() ? saturatedFlushMs : flushMs),
    maxPendingEntries: positive("maxPendingEntries", options.maxPendingEntries ?? 1024),
    storeTimeoutMs: positive("storeTimeoutMs", options.storeTimeoutMs ?? 10_000),
    watchedElsewhere: (id: string) =>
      engine.head(remoteViewerMark(id)).then(
        (mark) => mark !== undefined,
        (error: unknown) => {
          // The disconnect is known, a viewer elsewhere is not: the client's choice stands.
          logger.warn(
            { err: error, generation: id },
            "could not read whether a generation is watched on another node",
          )
          return false
        },
      ),
    logger,
    now,
  }
  const runs = new Map<string, GenerationRun>()
  /** Ends this node's runs came to but could not store, by generation: written when the log is closed (reap). */
  const unstoredEnds = new Map<string, EndEntry>()
  const ended = new RecentGenerations(RECENT_KEPT)
  let closing = false
  let leaseTimer: ReturnType<typeof setInterval> | undefined

  const renewals = failureStreak(
    logger,
    "error",
    {
      failed: "could not renew this node's lease; other nodes may take its generations over",
      recovered: "renewed this node's lease again",
    },
    { node },
  )
  const renewLease = (): Promise<void> =>
    engine.holdLease(node, leaseMs).then(renewals.succeeded, renewals.failed)
  const stopChecks = failureStreak(logger, "warn", {
    failed: "could not read the stop flags of the quiet generations",
    recovered: "read the stop flags of the quiet generations again",
  })
  const sweeps = failureStreak(logger, "warn", {
    failed: "could not check whether the nodes of followed generations are alive",
    recovered: "checked the nodes of followed generations again",
  })
  // Every create of an outage fails its undo too: a line now, and one with a count every 30 s.
  const undoFailed = repeatedWarning(logger, {
    once: "could not undo a generation's failed start",
    more: (count, seconds) =>
      `could not undo ${count} more generations' failed starts in the last ${seconds} s (the dead-node scan retries)`,
  })
  /** Stops the generations, quiet for `stopCheckMs`, whose stop flag is set (see `stopCheckMs`). */
  let checkingStops = false
  const checkStopFlags = async (): Promise<void> => {
    if (checkingStops) return
    checkingStops = true
    try {
      const quiet = [...runs.values()].filter((run) => run.quietMs() >= stopCheckMs)
      // A batch at a time: many stalled upstreams cost a few round trips, not one each.
      for (let at = 0; at < quiet.length; at += STOP_CHECK_BATCH) {
        const batch = quiet.slice(at, at + STOP_CHECK_BATCH)
        const heads = await Promise.all(batch.map((run) => engine.head(run.log)))
        batch.forEach((run, i) => {
          const head = heads[i]
          if (head?.stopRequested === true) run.stop("cancelled", "the generation was cancelled")
          // Closed or deleted by another node (this node's lease lapsed): its upstream is let go.
          else if (head === undefined || head.closed)
            run.stop("interrupted", "another node closed the generation while this one ran it")
        })
      }
      stopChecks.succeeded()
    } catch (error) {
      stopChecks.failed(error)
    } finally {
      checkingStops = false
    }
  }
  let stopCheckTimer: ReturnType<typeof setInterval> | undefined
  /** Settles once this node holds its lease and renews it (on its first generation). */
  let leaseHeld: Promise<void> | undefined
  const stopSignals = engine.onSignal((signal: Signal) => {
    const run = runs.get(signal.payload)
    if (run === undefined) return
    if (signal.topic === CANCEL_SIGNAL) run.stop("cancelled", "the generation was cancelled")
    else if (signal.topic === VIEWER_SIGNAL) run.remoteViewer()
  })

  /** The generations this node is starting: their markers and logs are being made, their runs not yet. */
  const starting = new Set<string>()
  /**
   * {@link Generations.reapIfOrphaned}, with the live nodes asked for only when needed. An open
   * generation of this node's own id that it neither runs nor is starting was left by an earlier
   * process with the same id (a fixed `--node-id`), or by a run whose end could not be stored:
   * it is closed too, fenced as its owner.
   */
  const reap = async (id: string, head: LogHead, liveNodes: () => Promise<readonly string[]>) => {
    const owner = head.config.owner
    // Closed by another node meanwhile: an end kept for it has nothing left to close.
    if (head.closed) unstoredEnds.delete(id)
    if (head.closed || owner === undefined || runs.has(id) || starting.has(id)) return false
    const own = owner === node
    if (!own && (await liveNodes()).includes(owner)) return false
    const unstored = own ? unstoredEnds.get(id) : undefined
    const end: EndEntry = unstored ?? {
      type: "end",
      status: "interrupted",
      stats: await storedStats(engine, generationLog(id), head.createdAt),
      error: {
        type: "interrupted",
        message: own
          ? `the node running the generation (${owner}) stopped running it`
          : `the node running the generation (${owner}) stopped, or could not reach the store for longer than its lease`,
      },
    }
    const result = await engine.append(generationLog(id), [{ data: serializeEntry(end) }], {
      fence: own ? { owner: node } : { takeOver: node, from: owner },
      close: true,
    })
    if (result.status !== "appended") return false
    unstoredEnds.delete(id)
    const meta = metaFromRecord(head.config.meta)
    // A run whose end waited was counted when it ended (as lost): not once more.
    if (unstored !== undefined)
      logger.info({ generation: id }, "stored the end of a generation this node ran, once the store was back")
    else {
      logger.warn(
        { generation: id, owner },
        own
          ? "closed a generation of this node's that no run here ends, as interrupted"
          : "closed a generation whose node stopped renewing its lease, as interrupted",
      )
      options.observer?.reaped(meta?.model ?? "unknown")
    }
    // Its marker goes too (whoever closed it: a reader, a sweep or a scan), or it would count.
    await engine.delete(runningMarker(head.config.meta?.owner, id)).catch((error: unknown) => {
      logger.warn({ err: error, generation: id }, "could not clear a closed generation's marker")
      deadNodes.rescan()
    })
    return true
  }
  /**
   * Clears `marker` when its generation does not run any more: its node died, or it is this
   * node's own and not running here (see `reap`). Closes the generation first when it is still
   * open; `true` once the marker is deleted.
   */
  const clearMarker = async (marker: LogHead, liveNodes: () => Promise<readonly string[]>) => {
    const id = markedGeneration(marker.name)
    const owner = marker.config.owner
    if (owner === undefined || runs.has(id) || starting.has(id)) return false
    if (owner !== node && (await liveNodes()).includes(owner)) return false
    const log = generationLog(id)
    const head = await engine.head(log)
    if (head !== undefined && !head.closed) {
      // Closed here: reap deleted the marker with it.
      if (await reap(id, head, liveNodes)) return true
      // Not closed by this reap: closed meanwhile by another (a reader, a sweep), or not to close.
      const after = await engine.head(log)
      if (after !== undefined && !after.closed) return false
    }
    await engine.delete(marker.name)
    return true
  }
  // Every node looks for dead nodes, so a generation nobody reads is closed as well.
  const deadNodes = new DeadNodeScan(engine, node, clearMarker, logger)
  const deadNodeTimer = setInterval(() => void deadNodes.tick(), leaseTickMs)
  deadNodeTimer.unref()
  /**
   * The generations of other nodes that readers here follow, by how many: each sweep closes
   * those whose node died, so a reader here never waits forever for a node that is gone.
   */
  const followedElsewhere = new Map<string, number>()
  let sweepTimer: ReturnType<typeof setInterval> | undefined
  const sweep = async (): Promise<void> => {
    let live: Promise<readonly string[]> | undefined
    for (const id of followedElsewhere.keys()) {
      const head = await engine.head(generationLog(id))
      if (head === undefined || head.closed) {
        followedElsewhere.delete(id)
        continue
      }
      await reap(id, head, () => {
        live ??= engine.liveNodes()
        return live
      })
    }
  }
  /**
   * Tells the node running generation `id` that it has a viewer here (once per node, not per
   * viewer): its signal at once, and its mark, which that node finds before it stops the
   * generation for a disconnect, were the signal lost.
   */
  const tellOfViewer = (id: string): void => {
    engine.create(remoteViewerMark(id), { ttlMs: retentionMs }).catch((error: unknown) => {
      logger.warn({ err: error, generation: id }, "could not mark a generation as watched on this node")
    })
    engine.signal({ topic: VIEWER_SIGNAL, payload: id }).catch((error: unknown) => {
      logger.warn({ err: error, generation: id }, "could not tell the generation's node about a viewer")
    })
  }
  const follow = (id: string): (() => void) => {
    const followers = followedElsewhere.get(id) ?? 0
    followedElsewhere.set(id, followers + 1)
    if (followers === 0) tellOfViewer(id)
    if (sweepTimer === undefined) {
      sweepTimer = setInterval(() => {
        if (followedElsewhere.size === 0) {
          clearInterval(sweepTimer)
          sweepTimer = undefined
          return
        }
        sweep().then(sweeps.succeeded, sweeps.failed)
      }, leaseTickMs)
      sweepTimer.unref()
    }
    let left = false
    return () => {
      if (left) return
      left = true
      const count = (followedElsewhere.get(id) ?? 1) - 1
      if (count > 0) followedElsewhere.set(id, count)
      else followedElsewhere.delete(id)
    }
  }

  /**
   * Deletes an ended run's marker once its log is closed (its end stored, else read) or gone. A
   * log left open (its end could not be stored) keeps it, and so does a failure here: the next
   * dead-node scan, asked for now, closes that generation and clears its marker.
   */
  const unmarking = new Set<Promise<void>>()
  const unmark = async (log: string, marker: string, stored: boolean): Promise<void> => {
    try {
      const head = stored ? undefined : await engine.head(log)
      if (stored || head === undefined || head.closed) {
        await engine.delete(marker)
        return
      }
    } catch (error) {
      logger.warn({ err: error, log }, "could not clear an ended generation's marker")
    }
    deadNodes.rescan()
  }

  /** Creates generation `id`'s log and runs it (the rest of {@link Generations.start}). */
  const startRun = async (id: string, log: string, spec: GenerationSpec): Promise<GenerationRun> => {
    const marker = runningMarker(spec.meta.owner, id)
    /** The marker or the log is not this start's (it existed already): a failed start leaves it alone. */
    let foreignMarker = false
    let foreignLog = false
    try {
      // The marker first, so that no generation is ever open without one and the scans find every
      // one; asked together, in that order (one round trip: an engine runs one connection's
      // commands in order), and both answered before anything is undone.
      const [marked, created] = await Promise.allSettled([
        engine.create(marker, { owner: node }),
        engine.create(log, {
          owner: node,
          ttlMs: retentionMs,
          // A long answer at a high rate makes many entries: retention must never trim a running one.
          retention: { maxEntries: MAX_ENTRIES, maxAgeMs: MAX_AGE_MS },
          meta: metaToRecord(spec.meta),
        }),
      ])
      foreignMarker = marked.status === "fulfilled" && marked.value.status !== "created"
      foreignLog = created.status === "fulfilled" && created.value.status !== "created"
      if (marked.status === "rejected") throw marked.reason
      if (created.status === "rejected") throw created.reason
      if (marked.value.status !== "created")
        throw new Error(`a new generation's marker exists already (${marked.value.status})`)
      if (foreignLog) throw new Error(`a new generation's log exists already (${created.value.status})`)
      if (spec.claim !== undefined && !(await spec.claim()))
        throw new NotClaimedError(`generation ${id} was not started: another request claimed its work`)
      // A shutdown that began during the creates has already counted the runs it waits for and
      // stops: a run added now would go on past it, without a lease.
      if (closing) throw new ShuttingDownError("this node is shutting down and takes no new generations")
    } catch (error) {
      // Undone, log first: an open generation nobody runs would keep readers waiting, and a
      // marker would count for its subject. What cannot be undone now, the next scan does, when
      // the marker was made; a log made without it (its create failed, then the log's delete)
      // is known to no client and ends with its TTL.
      try {
        if (!foreignLog) await engine.delete(log)
        if (!foreignMarker) await engine.delete(marker)
      } catch (undoing) {
        undoFailed({ err: undoing, generation: id })
        deadNodes.rescan()
      }
      throw error
    }
    const run = new GenerationRun(
      {
        id,
        log,
        provider: spec.provider,
        request: spec.request,
        model: spec.meta.model,
        startedAt: spec.meta.createdAt,
        graceMs: spec.disconnectGraceMs ?? defaultGraceMs,
        ...(spec.recorder === undefined ? {} : { recorder: spec.recorder }),
      },
      settings,
    )
    runs.set(id, run)
    const model = spec.meta.model
    options.observer?.started(model)
    void run.ended
      .then(
        (end) => {
          // The operator's to see: a refused key, an upstream down, a stream cut (a client's own bad field is not).
          if (end?.status === "failed" && end.error?.type !== "invalid_request")
            logger.warn({ generation: id, model, error: end.error }, "a generation failed")
          options.observer?.ended(model, end, end === undefined ? run.summary().stats : undefined)
        },
        () => options.observer?.ended(model, undefined, run.summary().stats),
      )
      .catch((error: unknown) =>
        logger.error({ err: error, generation: id }, "could not count a generation's end"),
      )
    void run.ended
      .then(
        (end) => end !== undefined,
        () => false,
      )
      .then((stored) => {
        // Kept before the run is gone, so that whoever closes its log here writes the end it came to.
        const unstored = run.unstoredEnd
        if (unstored !== undefined) {
          // The oldest goes first: one never written back is closed as interrupted.
          if (unstoredEnds.size >= UNSTORED_ENDS_KEPT)
            unstoredEnds.delete(unstoredEnds.keys().next().value as string)
          unstoredEnds.set(id, unstored)
        }
        runs.delete(id)
        const unmarked = unmark(log, marker, stored).finally(() => unmarking.delete(unmarked))
        unmarking.add(unmarked)
      })
    void run.ended.then((end) =>
      ended.add({
        ...run.summary(),
        ...(end === undefined ? { status: "lost" } : { status: end.status, stats: end.stats }),
      }),
    )
    return run
  }

  return {
    node,
    engine,
    retentionMs,
    storeTimeoutMs: settings.storeTimeoutMs,
    async start(spec) {
      if (closing) throw new ShuttingDownError("this node is shutting down and takes no new generations")
      // Once, however many first generations start together: the timers are made after the lease.
      leaseHeld ??= renewLease().then(() => {
        leaseTimer = setInterval(() => void renewLease(), leaseTickMs)
        leaseTimer.unref()
        stopCheckTimer = setInterval(() => void checkStopFlags(), stopCheckMs)
        stopCheckTimer.unref()
      })
      await leaseHeld
      const id = spec.id ?? newGenerationId()
      const log = generationLog(id)
      starting.add(id)
      try {
        return await startRun(id, log, spec)
      } finally {
        starting.delete(id)
      }
    },
    running: (id) => runs.get(id),
    async cancel(id) {
      runs.get(id)?.stop("cancelled", "the generation was cancelled")
      const flagged = await engine.requestStop(generationLog(id)).catch(async (error: unknown) => {
        // A full store refuses only the flag: the signal still stops a run on another node, whose
        // upstream may send nothing for long, so that no append of its own fails to stop it.
        if (error instanceof StorageFullError) await engine.signal({ topic: CANCEL_SIGNAL, payload: id })
        throw error
      })
      if (!flagged) return false
      await engine.signal({ topic: CANCEL_SIGNAL, payload: id })
      return true
    },
    reapIfOrphaned: (id, head) => reap(id, head, () => engine.liveNodes()),
    activity: () => ({
      running: [...runs.values()].map((run) => run.summary()),
      recent: ended.list(),
    }),
    watch(id) {
      const run = runs.get(id)
      if (run !== undefined) return run.attachViewer()
      return follow(id)
    },
    async close(closeOptions = {}) {
      closing = true
      await settledWithin(
        Promise.all([...runs.values()].map((run) => run.ended)),
        closeOptions.deadlineMs ?? 10_000,
      )
      for (const run of runs.values()) run.stop("interrupted", "the node running the generation shut down")
      await Promise.all([...runs.values()].map((run) => run.ended))
      await Promise.all(unmarking)
      stopSignals()
      // A first generation taking the lease now makes its timers before they are cleared.
      await leaseHeld
      clearInterval(sweepTimer)
      clearInterval(leaseTimer)
      clearInterval(stopCheckTimer)
      clearInterval(deadNodeTimer)
      await deadNodes.settled()
      if (leaseTimer !== undefined) {
        await engine.releaseLease(node).catch((error: unknown) => {
          logger.warn({ err: error, node }, "could not release this node's lease")
        })
      }
    },
  }
}

/** How many stop flags of quiet generations are read at once. */
const STOP_CHECK_BATCH = 32

/** How many ended generations {@link Generations.activity} remembers. */
const RECENT_KEPT = 20
/** Ends kept for their logs to be closed with (see `unstoredEnds`): enough for every run of an outage. */
const UNSTORED_ENDS_KEPT = 10_000

/** The most entries a generation's log keeps: far beyond any answer, so retention never trims one. */
const MAX_ENTRIES = 10_000_000
/** Age never trims a generation: its TTL after the last write or read removes it. */
const MAX_AGE_MS = 365 * 24 * 3_600_000
