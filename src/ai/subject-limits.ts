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
  /** It started: its running marker exists, and holds its place from now on. */
  started(): Promise<void>
  /**
   * It did not start: this node's place is free again. Its admission stays in the subject's
   * admissions: it counts towards the rate, and as running for a few seconds unless its
   * generation was made and closed.
   */
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

const ADMISSIONS_LOG_PREFIX = "ai/rate/"
const RATE_WINDOW_MS = 60_000
/** How many pages of a subject's markers an admission reads at most (closed ones waiting to be cleared included). */
const MAX_MARKER_PAGES = 8
/** What a refusal of a subject at its concurrency limit suggests: a running generation may end soon. */
const CONCURRENCY_RETRY_MS = 1000
/**
 * How long an admitted generation counts as running by its admission alone, before its marker
 * is sure to exist: a generation's marker is made as it starts, right after its admission.
 */
const ADMISSION_COUNTS_MS = 10_000
/** How many times an admission reads and tries again when another node's admission came first. */
const MAX_ADMISSION_ROUNDS = 8

/** What a subject's admissions log holds: its recent admissions, and where it ends. */
interface Admissions {
  readonly tailSeq: number
  /** Held admissions, oldest first: the last `maxPerMinute` of the last minute. */
  readonly entries: readonly { readonly id: string; readonly time: number }[]
}

/**
 * Per-subject limits, both counted in the engine so that every node sees what every other runs
 * and starts, and exact across nodes: a subject's admissions are one log, each appended with the
 * writer sequence that must follow the log's end as the admission read it. Of two nodes that
 * read the same end, one appends, and the other reads again and counts the first one's
 * admission before it decides (a compare-and-set on the log's end).
 *
 * - Concurrency: a subject's running generations are its running markers (running-marker.ts)
 *   of generations still open, its admissions of the last {@link ADMISSION_COUNTS_MS} whose
 *   generation is not closed (their marker may not exist yet), and those this node is admitting.
 *   A dead node's open generations count until they are closed, within a lease.
 * - Rate: the admissions log keeps the last `maxPerMinute` admissions: when it is full and its
 *   oldest is less than a minute old, the subject waits until that one is a minute old.
 */
export function createSubjectLimits(
  engine: Engine,
  settings: SubjectLimitSettings,
  now: () => number,
): SubjectLimits {
  /** By subject: the generations admitted here whose marker may not exist yet. */
  const admitting = new Map<string, Set<string>>()
  const admissionsConfig = {
    ttlMs: RATE_WINDOW_MS,
    retention: { maxEntries: settings.maxPerMinute, maxAgeMs: RATE_WINDOW_MS },
  }

  const readAdmissions = async (log: string): Promise<Admissions> => {
    const read = await engine.read(log, START, settings.maxPerMinute, { touch: false })
    if (!read.held) return { tailSeq: 0, entries: [] }
    return {
      tailSeq: parsePosition(read.tail)?.seq ?? 0,
      entries: read.entries.map((entry) => ({ id: entry.data, time: entry.time })),
    }
  }

  const rateWait = ({ entries }: Admissions): number => {
    const oldest = entries[0]
    if (oldest === undefined || entries.length < settings.maxPerMinute) return 0
    return Math.max(0, oldest.time + RATE_WINDOW_MS - now())
  }

  /**
   * How many of generations `ids` run: their log is open, or, when `unmade` is "running" (a
   * young admission's), not made yet. A marker whose generation's log is gone (expired) counts
   * for nothing, or a subject would stay at its limit for good.
   */
  const running = async (ids: readonly string[], unmade: "running" | "ended"): Promise<number> => {
    const heads = await Promise.all(ids.map((id) => engine.head(generationLog(id))))
    return heads.filter((head) => (head === undefined ? unmade === "running" : !head.closed)).length
  }

  /** The subject's generations that run (or are admitted), up to one past the limit. */
  const runningCount = async (
    subject: string | undefined,
    here: ReadonlySet<string>,
    admissions: Admissions,
  ): Promise<number> => {
    const since = now() - ADMISSION_COUNTS_MS
    const admitted = new Set(
      admissions.entries
        .filter((entry) => entry.time >= since && !here.has(entry.id))
        .map((entry) => entry.id),
    )
    let count = here.size
    let after: string | undefined
    for (let page = 0; page < MAX_MARKER_PAGES; page++) {
      const listed = await engine.list({
        prefix: subjectMarkers(subject),
        limit: settings.maxConcurrent + 1,
        ...(after === undefined ? {} : { after }),
      })
      const marked = listed.logs.map((marker) => markedGeneration(marker.name)).filter((id) => !here.has(id))
      for (const id of marked) admitted.delete(id)
      if (listed.next === undefined && count + marked.length + admitted.size <= settings.maxConcurrent)
        return count + marked.length + admitted.size
      // Past the limit, or more to list: a generation that just ended keeps its marker a moment
      // (its node deletes it after storing the end, which its client may have read already), so
      // the generations themselves are asked, and the listing goes on past the closed ones.
      count += await running(marked, "ended")
      if (count > settings.maxConcurrent) return count
      if (listed.next === undefined) break
      after = listed.next
    }
    return count + (await running([...admitted], "running"))
  }

  const concurrencyRefusal: LimitRefusal = {
    code: "concurrency_limit_exceeded",
    message: `At most ${settings.maxConcurrent} generations may run at once for one subject; one must end first.`,
    retryAfterMs: CONCURRENCY_RETRY_MS,
  }

  /** Appends admission `id` if the log still ends at `tailSeq`; false when another came first. */
  const appendAdmission = async (log: string, id: string, tailSeq: number): Promise<boolean> => {
    const writerSeq = String(tailSeq + 1).padStart(16, "0")
    let result = await engine.append(log, [{ data: id }], { create: admissionsConfig, writerSeq })
    // Made by a node with other limits: its config stays, the admission is counted.
    if (result.status === "conflict") result = await engine.append(log, [{ data: id }], { writerSeq })
    return result.status === "appended"
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
      const log = subjectScopedLog(ADMISSIONS_LOG_PREFIX, subject, "")
      try {
        for (let round = 0; round < MAX_ADMISSION_ROUNDS; round++) {
          const admissions = await readAdmissions(log)
          const waitMs = rateWait(admissions)
          if ((await runningCount(subject, here, admissions)) > settings.maxConcurrent) {
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
          if (await appendAdmission(log, id, admissions.tailSeq)) {
            return {
              // Its marker counts it from now on; its admission counted it until then.
              started: async () => release(),
              release,
            }
          }
        }
      } catch (error) {
        release()
        throw error
      }
      release()
      return {
        code: "concurrency_limit_exceeded",
        message: "This subject's requests came too many at once to be counted; try again.",
        retryAfterMs: CONCURRENCY_RETRY_MS,
      }
    },
  }
}

/** Whether `admit` refused. */
export function isRefusal(outcome: LimitTicket | LimitRefusal): outcome is LimitRefusal {
  return "code" in outcome
}
