import type { Engine } from "../engine/engine.js"
import { parsePosition, START } from "../engine/position.js"
import { subjectScopedLog } from "./subject-scoped-log.js"

/** How much one subject may ask for. Every limit is bounded. */
export interface SubjectLimitSettings {
  /** Generations one subject may run at once on this node. */
  readonly maxConcurrent: number
  /** Generations one subject may start in any 60 seconds, counted across the nodes of the engine. */
  readonly maxPerMinute: number
}

/** Why a subject may not start a generation now, and when to try again. */
export interface LimitRefusal {
  readonly code: "concurrency_limit_exceeded" | "rate_limit_exceeded"
  readonly message: string
  readonly retryAfterMs: number
}

/** A place taken for a generation about to start. */
export interface LimitTicket {
  /** It started: it holds its place until `ended` settles, and counts towards the rate. */
  started(ended: Promise<unknown>): Promise<void>
  /** It did not start: the place is free again. */
  release(): void
}

/** The per-subject limits of one node. */
export interface SubjectLimits {
  /**
   * A place for a generation of `subject` (its token's `sub`; tokens without one share a place),
   * or why there is none.
   */
  admit(subject: string | undefined): Promise<LimitTicket | LimitRefusal>
}

const RATE_LOG_PREFIX = "ai/rate/"
const RATE_WINDOW_MS = 60_000
/** What a refusal of a subject at its concurrency limit suggests: a running generation may end soon. */
const CONCURRENCY_RETRY_MS = 1000

/**
 * Per-subject limits: concurrency counted on this node (it protects the node's upstream
 * connections), the rate counted in the engine so every node sees every start. A subject's
 * recent starts are a log that keeps the last `maxPerMinute` of them: when it is full and its
 * oldest entry is less than a minute old, the subject waits until that entry is a minute old.
 * Two nodes admitting at the same instant may both pass the last place: the rate is exact to
 * within the requests in flight.
 */
export function createSubjectLimits(
  engine: Engine,
  settings: SubjectLimitSettings,
  now: () => number,
): SubjectLimits {
  const running = new Map<string, number>()
  const rateConfig = {
    ttlMs: RATE_WINDOW_MS,
    retention: { maxEntries: settings.maxPerMinute, maxAgeMs: RATE_WINDOW_MS },
  }

  const rateWait = async (log: string): Promise<number> => {
    const read = await engine.read(log, START, 1, { touch: false })
    if (!read.held) return 0
    const oldest = read.entries[0]
    const held = (parsePosition(read.tail)?.seq ?? 0) - (parsePosition(read.after)?.seq ?? 0)
    if (oldest === undefined || held < settings.maxPerMinute) return 0
    return Math.max(0, oldest.time + RATE_WINDOW_MS - now())
  }

  return {
    async admit(subject) {
      const key = subject ?? ""
      const count = running.get(key) ?? 0
      if (count >= settings.maxConcurrent) {
        return {
          code: "concurrency_limit_exceeded",
          message: `At most ${settings.maxConcurrent} generations may run at once for one subject; one must end first.`,
          retryAfterMs: CONCURRENCY_RETRY_MS,
        }
      }
      // Taken before the rate is read, so that requests arriving together cannot all pass.
      running.set(key, count + 1)
      let held = true
      const release = (): void => {
        if (!held) return
        held = false
        const left = (running.get(key) ?? 1) - 1
        if (left === 0) running.delete(key)
        else running.set(key, left)
      }
      const log = subjectScopedLog(RATE_LOG_PREFIX, subject, "")
      let waitMs: number
      try {
        waitMs = await rateWait(log)
      } catch (error) {
        release()
        throw error
      }
      if (waitMs > 0) {
        release()
        return {
          code: "rate_limit_exceeded",
          message: `At most ${settings.maxPerMinute} generations may start per minute for one subject.`,
          retryAfterMs: waitMs,
        }
      }
      return {
        async started(ended) {
          void ended.finally(release)
          const result = await engine.append(log, [{ data: "" }], { create: rateConfig })
          // Made by a node with another limit: its config stays, the start is counted.
          if (result.status === "conflict") await engine.append(log, [{ data: "" }])
        },
        release,
      }
    },
  }
}

/** Whether `admit` refused. */
export function isRefusal(outcome: LimitTicket | LimitRefusal): outcome is LimitRefusal {
  return "code" in outcome
}
