/**
 * A node's lease, held for as long as the process runs: taken at once, renewed every third of
 * its TTL (sooner after a failed renewal, so a store that comes back is noticed quickly), given
 * up on a clean shutdown. Other nodes read the leases ({@link Engine.liveNodes}) to tell a dead
 * node from a live one, and take a dead node's work over with a fence (engine.ts).
 */

import { defaultLogger, failureStreak, type Logger } from "../logger.js"
import { assertTimerDelay } from "../timer-delay.js"
import { assertDuration, assertNodeName } from "./checks.js"
import type { Engine } from "./engine.js"

/** What an app needs to know of this node's lease. */
export interface NodeLeaseView {
  /** This node's name. */
  readonly node: string
  /** How long the lease lasts unless renewed, ms. */
  readonly ttlMs: number
  /**
   * How long this node has held its lease without a lapse, ms; 0 while it does not hold it (not
   * taken yet, or expired because the store did not answer). A node that judges others dead
   * should first have held its own for a full TTL: every live node has then had the time to
   * renew its own after an outage of the store, which lapses every lease at once.
   */
  heldForMs(): number
}

/** A lease this process holds. */
export interface NodeLease extends NodeLeaseView {
  /** Stops renewing and gives the lease up (a clean shutdown). Never rejects. */
  release(): Promise<void>
}

/** Options of {@link holdNodeLease}. */
export interface NodeLeaseOptions {
  /** Where a failed renewal is reported (once per lapse). Default: {@link defaultLogger}. */
  readonly logger?: Logger
  /** The clock, ms. Default `Date.now`. */
  readonly now?: () => number
}

/** Takes `node`'s lease on `engine` for `ttlMs` and keeps it renewed until released. */
export function holdNodeLease(
  engine: Engine,
  node: string,
  ttlMs: number,
  options: NodeLeaseOptions = {},
): NodeLease {
  assertNodeName(node, "node")
  assertDuration(ttlMs, "ttlMs")
  // Renewals are timed in thirds of it: a longer lease would renew every millisecond.
  assertTimerDelay("ttlMs", ttlMs)
  const logger = options.logger ?? defaultLogger()
  const now = options.now ?? Date.now
  /** When the current unbroken run of renewals began. */
  let heldSince: number | undefined
  /** When the last renewal that succeeded was sent. */
  let renewedAt: number | undefined
  const renewals = failureStreak(
    logger,
    "warn",
    { failed: "node lease: renewal failed; retrying", recovered: "node lease: renewed again" },
    { node },
  )
  let timer: NodeJS.Timeout | undefined
  let renewal: Promise<void> | undefined
  let released = false

  const lapsed = (at: number) => renewedAt === undefined || at - renewedAt >= ttlMs
  const renew = async (): Promise<void> => {
    // The lease runs from when the request left, at the latest: count from then.
    const sent = now()
    try {
      await engine.holdLease(node, ttlMs)
      if (released) return
      if (lapsed(sent)) heldSince = sent
      renewedAt = sent
      renewals.succeeded()
    } catch (error) {
      renewals.failed(error)
    }
  }
  const schedule = () => {
    if (released) return
    // A failed renewal is retried sooner: the lease may still be saved before it expires.
    timer = setTimeout(tick, renewals.failing ? ttlMs / 10 : ttlMs / 3)
    timer.unref()
  }
  const tick = () => {
    renewal = renew().finally(schedule)
  }
  tick()

  return {
    node,
    ttlMs,
    heldForMs() {
      const at = now()
      return heldSince === undefined || lapsed(at) ? 0 : at - heldSince
    },
    async release() {
      if (released) return
      released = true
      clearTimeout(timer)
      await renewal
      heldSince = undefined
      renewedAt = undefined
      try {
        await engine.releaseLease(node)
      } catch (error) {
        logger.warn({ err: error, node }, "node lease: could not give it up; it expires by itself")
      }
    },
  }
}
