import type { Engine } from "../engine/engine.js"
import { parsePosition, START } from "../engine/position.js"
import { generationLog } from "./generation-id.js"
import { markedGeneration, subjectMarkers } from "./running-marker.js"
import { subjectScopedLog } from "./subject-scoped-log.js"

/** How much one subject may ask for. Every limit is bounded. */
export interface SubjectLimitSettings {
  /** Generations one subject may run at once, counted across the nodes of the engine. */
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
  /** It started (its running marker exists, and holds its place from now on); it counts towards the rate. */
  started(): Promise<void>
  /** It did not start: the place is free again. */
  release(): void
}

/** The per-subject limits of one node. */
export interface SubjectLimits {
  /**
   * A place for generation `id` of `subject` (its token's `sub`; tokens without one share a
   * place), or why there is none.
   */
  admit(subject: string | undefined, id: string): Promise<LimitTicket | LimitRefusal>
}

const RATE_LOG_PREFIX = "ai/rate/"
const RATE_WINDOW_MS = 60_000
/** How many pages of a subject's markers an admission reads at most (closed ones waiting to be cleared included). */
const MAX_MARKER_PAGES = 8
/** What a refusal of a subject at its concurrency limit suggests: a running generation may end soon. */
const CONCURRENCY_RETRY_MS = 1000

/**
 * Per-subject limits, both counted in the engine so that every node sees what every other runs
 * and starts.
 *
 * - Concurrency: a subject's running generations are its running markers (running-marker.ts)
 *   of generations still open, plus those this node admitted whose marker may not exist yet. A
 *   dead node's open generations count until they are closed, within a lease.
 * - Rate: a subject's recent starts are a log that keeps the last `maxPerMinute` of them: when it
 *   is full and its oldest entry is less than a minute old, the subject waits until that entry
 *   is a minute old.
 *
 * Two nodes admitting at the same instant may both pass the last place: each limit is exact to
 * within the requests in flight on other nodes.
 */
export function createSubjectLimits(
  engine: Engine,
  settings: SubjectLimitSettings,
  now: () => number,
): SubjectLimits {
  /** By subject: the generations admitted here whose marker may not exist yet. */
  const admitting = new Map<string, Set<string>>()
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

  /** The subject's generations that run (or are admitted here), up to one past the limit. */
  const runningCount = async (subject: string | undefined, here: ReadonlySet<string>): Promise<number> => {
    let count = here.size
    let after: string | undefined
    for (let page = 0; page < MAX_MARKER_PAGES; page++) {
      const listed = await engine.list({
        prefix: subjectMarkers(subject),
        limit: settings.maxConcurrent + 1,
        ...(after === undefined ? {} : { after }),
      })
      const marked = listed.logs.map((marker) => markedGeneration(marker.name)).filter((id) => !here.has(id))
      if (listed.next === undefined && count + marked.length <= settings.maxConcurrent)
        return count + marked.length
      // Past the limit, or more to list: a generation that just ended keeps its marker a moment
      // (its node deletes it after storing the end, which its client may have read already), so
      // the generations themselves are asked, and the listing goes on past the closed ones.
      const heads = await Promise.all(marked.map((id) => engine.head(generationLog(id))))
      count += heads.filter((head) => head !== undefined && !head.closed).length
      if (count > settings.maxConcurrent || listed.next === undefined) return count
      after = listed.next
    }
    return count
  }

  const concurrencyRefusal: LimitRefusal = {
    code: "concurrency_limit_exceeded",
    message: `At most ${settings.maxConcurrent} generations may run at once for one subject; one must end first.`,
    retryAfterMs: CONCURRENCY_RETRY_MS,
  }

  return {
    async admit(subject, id) {
      const key = subject ?? ""
      const here = admitting.get(key) ?? new Set<string>()
      if (here.size >= settings.maxConcurrent) return concurrencyRefusal
      // Taken before the engine is read, so that requests arriving here together cannot all pass.
      here.add(id)
      admitting.set(key, here)
      const release = (): void => {
        here.delete(id)
        if (here.size === 0 && admitting.get(key) === here) admitting.delete(key)
      }
      const log = subjectScopedLog(RATE_LOG_PREFIX, subject, "")
      let running: number
      let waitMs: number
      try {
        ;[running, waitMs] = await Promise.all([runningCount(subject, here), rateWait(log)])
      } catch (error) {
        release()
        throw error
      }
      if (running > settings.maxConcurrent) {
        release()
        return concurrencyRefusal
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
        async started() {
          // Its marker counts it from now on.
          release()
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
