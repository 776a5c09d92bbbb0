import { statSync } from "node:fs"
import { createRequire } from "node:module"
import { Worker } from "node:worker_threads"
import { failureStreak, type Logger } from "../logger.js"

/** When the checkpointer copies the WAL back into the database file. */
export interface CheckpointPolicy {
  /** A PASSIVE checkpoint runs this often (ms). */
  readonly everyMs: number
  /**
   * Past this many bytes of WAL (the PASSIVE checkpoints fell behind: a burst of writes, a
   * starved thread, a long reader), commits pause — appends queue, the event loop stays free —
   * while the checkpointer runs a RESTART checkpoint: it copies what is left and makes the next
   * commit start the WAL over, cutting the file back to this size. The only checkpoint a
   * publish can wait for.
   */
  readonly walLimitBytes: number
}

/** A PASSIVE checkpoint every 200 ms; a RESTART one past 64 MiB of WAL. */
export const SQLITE_CHECKPOINT_DEFAULTS: CheckpointPolicy = {
  everyMs: 200,
  walLimitBytes: 64 * 1024 * 1024,
}

/** Fills in {@link SQLITE_CHECKPOINT_DEFAULTS} and rejects a bound that is not a positive integer. */
export function resolveCheckpointPolicy(given: Partial<CheckpointPolicy> | undefined): CheckpointPolicy {
  const policy = { ...SQLITE_CHECKPOINT_DEFAULTS, ...given }
  for (const [name, value] of Object.entries(policy)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(
        `sqlite engine: checkpoint.${name} must be a positive integer; got ${String(value)}.`,
      )
    }
  }
  return policy
}

/** The running checkpointer of one database file. */
export interface Checkpointer {
  /**
   * Call after each commit. Past the WAL limit it asks for a RESTART checkpoint and returns
   * what settles once it has run: hold further commits until then.
   */
  afterCommit(): Promise<void> | undefined
  /** Stops it and closes its connection; resolves once its thread has exited. */
  stop(): Promise<void>
}

// Runs in the worker thread, as a CommonJS script (an eval'd worker needs no file of its own,
// so it works from the TypeScript sources, the build and a bundle alike). Its connection is
// not the writer's: a PASSIVE checkpoint never blocks the writer, and it runs off the event
// loop that serves publishes. A RESTART waits for readers to move off the old WAL, at most
// RESTART_WAIT_MS, and answers either way. Failures are reported, and the first success after
// them: one that lasts (a full disk) fails every tick.
const RESTART_WAIT_MS = 200
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads")
const Driver = require(workerData.driver)
const db = new Driver(workerData.path, { timeout: ${RESTART_WAIT_MS}, fileMustExist: true })
let failing = false
const checkpoint = (mode) => {
  try {
    db.pragma("wal_checkpoint(" + mode + ")")
    if (failing) parentPort.postMessage({ recovered: true })
    failing = false
  } catch (error) {
    failing = true
    parentPort.postMessage({ failed: String(error && error.message) })
  }
}
const timer = setInterval(() => checkpoint("PASSIVE"), workerData.everyMs)
parentPort.on("message", (message) => {
  if (message === "restart") {
    checkpoint("RESTART")
    parentPort.postMessage({ restarted: true })
    return
  }
  clearInterval(timer)
  db.close()
  parentPort.close()
})
`

/**
 * The thread starts once the WAL first holds this much (or the limit, if lower): a database
 * that is barely written to (a test's, a quiet hub's) never pays for a thread (~20 to 80 ms to
 * start, a few MB). Until then the WAL is small anyway.
 */
const START_AFTER_WAL_BYTES = 1024 * 1024

/**
 * Checkpoints the WAL of the database at `path` in a worker thread, by `policy`. The writer's
 * connection must have `wal_autocheckpoint` off (or commits would still checkpoint) and
 * `journal_size_limit` at the WAL limit (so that the WAL file is cut back when it starts over,
 * and its size tells how much it holds).
 */
export function createCheckpointer(path: string, policy: CheckpointPolicy, logger: Logger): Checkpointer {
  const walPath = `${path}-wal`
  const startAfterBytes = Math.min(START_AFTER_WAL_BYTES, policy.walLimitBytes)
  let worker: Worker | undefined
  // Once the thread has ended it is not started again: one that cannot load would fail per commit.
  let gone = false
  let exited: Promise<void> = Promise.resolve()
  let restarted: (() => void) | undefined
  // Once as checkpoints start failing, once as they work again: not every tick of an outage.
  const checkpoints = failureStreak(logger, "error", {
    failed: "herald sqlite engine: a checkpoint failed; the WAL grows until one succeeds",
    recovered: "herald sqlite engine: checkpoints work again",
  })
  const settleRestart = () => {
    restarted?.()
    restarted = undefined
  }

  function start(): Worker {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3")
    const started = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path, ...policy } })
    // A checkpointer never keeps the process alive.
    started.unref()
    started.on("message", (message: { failed?: string; recovered?: true; restarted?: true }) => {
      if (message.restarted) settleRestart()
      else if (message.recovered) checkpoints.succeeded()
      else checkpoints.failed(message.failed)
    })
    started.on("error", (error) =>
      logger.error(
        { err: error },
        "herald sqlite engine: the checkpointer stopped; the WAL is no longer bounded",
      ),
    )
    exited = new Promise<void>((resolve) =>
      started.once("exit", () => {
        gone = true
        // Commits waiting on a RESTART that will not come go on.
        settleRestart()
        resolve()
      }),
    )
    return started
  }

  return {
    afterCommit() {
      if (gone) return undefined
      // A stat costs about a microsecond: cheap enough after every commit.
      const walBytes = statSync(walPath, { throwIfNoEntry: false })?.size ?? 0
      worker ??= walBytes > startAfterBytes ? start() : undefined
      if (worker === undefined || walBytes <= policy.walLimitBytes || restarted !== undefined)
        return undefined
      worker.postMessage("restart")
      return new Promise<void>((resolve) => {
        restarted = resolve
      })
    },
    async stop() {
      // Held while it stops: else a process with nothing else to do would exit before it has.
      worker?.ref()
      worker?.postMessage("stop")
      await exited
    },
  }
}
