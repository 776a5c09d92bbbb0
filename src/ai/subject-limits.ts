import type { Engine } from "../engine/engine.js"
import { parsePosition, START } from "../engine/position.js"
import { generationLog, isGenerationId } from "./generation-id.js"
import { markedGeneration, subjectMarkers } from "./running-marker.js"
import { subjectScopedLog } from "./subject-scoped-log.js"
import { createTurns } from "./turns.js"

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
/**
 * How many times an admission reads and tries again when another node's admission came first
 * (a node admits one subject's requests one at a time: only other nodes contend).
 */
const MAX_ADMISSION_ROUNDS = 16
/** The most admissions read: a node with a larger `maxPerMinute` may have made the log keep more. */
const MAX_ADMISSIONS_READ = 1000

/** What a subject's admissions log holds: its recent admissions, and where it ends. */
interface Admissions {
  readonly tailSeq: number
  /** Held admissions, oldest first: those of the last minute, up to the log's `maxEntries`. */
  readonly entries: readonly { readonly id: string; readonly time: number }[]
}

/** A page of a subject's running markers: the generations they name, and the next page's start. */
interface MarkerPage {
  readonly ids: readonly string[]
  readonly next: string | undefined
}

/**
 * Per-subject limits, both counted in the engine so that every node sees what every other runs
 * and starts, and exact across nodes: a subject's admissions are one log, each appended with a
 * writer sequence that must follow the last one given, taken from the log's end as the
 * admission read it (a compare-and-set on the log's end). Of two nodes that read the same end,
 * one appends, and the other reads again and counts the first one's admission before it decides.
 * A node admits one subject's requests one at a time, so only other nodes ever contend.
 *
 * - Concurrency: a subject's running generations are its running markers (running-marker.ts)
 *   of generations still open, its admissions of the last {@link ADMISSION_COUNTS_MS} whose
 *   generation is not closed (their marker may not exist yet; one this node released is not
 *   counted here, another node counts it until then), and those this node is admitting. A dead
 *   node's open generations count until they are closed, within a lease.
 * - Rate: the admissions log keeps the last `maxPerMinute` admissions of the last minute: when
 *   it is full and its oldest is less than a minute old, the subject waits until that one is a
 *   minute old. An admission counts whether or not its generation started.
 */
export function createSubjectLimits(
  engine: Engine,
  settings: SubjectLimitSettings,
  now: () => number,
): SubjectLimits {
  /** By subject: the generations admitted here whose marker may not exist yet. */
  const admitting = new Map<string, Set<string>>()
  /** By subject: this node's admissions, one at a time. */
  const queues = createTurns()
  /** Admissions this node released (their generation never started), until they count no more. */
  const released = new Map<string, number>()
  const admissionsConfig = {
    ttlMs: RATE_WINDOW_MS,
    retention: { maxEntries: settings.maxPerMinute, maxAgeMs: RATE_WINDOW_MS },
  }

  const readAdmissions = async (log: string): Promise<Admissions> => {
    const read = await engine.read(log, START, MAX_ADMISSIONS_READ, { touch: false })
    if (!read.held) return { tailSeq: 0, entries: [] }
    return {
      tailSeq: parsePosition(read.tail)?.seq ?? 0,
      // An older Herald counted starts in this log with empty entries: no admission to count.
      entries: read.entries
        .filter((entry) => isGenerationId(entry.data))
        .map((entry) => ({ id: entry.data, time: entry.time })),
    }
  }

  const rateWait = ({ entries }: Admissions): number => {
    if (entries.length < settings.maxPerMinute) return 0
    const oldest = entries[entries.length - settings.maxPerMinute]
    return oldest === undefined ? 0 : Math.max(0, oldest.time + RATE_WINDOW_MS - now())
  }

  const markerPage = async (subject: string | undefined, after: string | undefined): Promise<MarkerPage> => {
    const listed = await engine.list({
      prefix: subjectMarkers(subject),
      limit: settings.maxConcurrent + 1,
      ...(after === undefined ? {} : { after }),
    })
    return { ids: listed.logs.map((marker) => markedGeneration(marker.name)), next: listed.next }
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
    firstPage: MarkerPage,
  ): Promise<number> => {
    const since = now() - ADMISSION_COUNTS_MS
    for (const [id, at] of released) if (at < since) released.delete(id)
    const admitted = new Set(
      admissions.entries
        .filter((entry) => entry.time >= since && !here.has(entry.id) && !released.has(entry.id))
        .map((entry) => entry.id),
    )
    let count = here.size
    let page = firstPage
    for (let pages = 1; ; pages++) {
      const marked = page.ids.filter((id) => !here.has(id))
      for (const id of marked) admitted.delete(id)
      if (page.next === undefined && count + marked.length + admitted.size <= settings.maxConcurrent)
        return count + marked.length + admitted.size
      // Past the limit, or more to list: a generation that just ended keeps its marker a moment
      // (its node deletes it after storing the end, which its client may have read already), so
      // the generations themselves are asked, and the listing goes on past the closed ones.
      count += await running(marked, "ended")
      if (count > settings.maxConcurrent) return count
      if (page.next === undefined || pages >= MAX_MARKER_PAGES) break
      page = await markerPage(subject, page.next)
    }
    return count + (await running([...admitted], "running"))
  }

  const concurrencyRefusal: LimitRefusal = {
    code: "concurrency_limit_exceeded",
    message: `At most ${settings.maxConcurrent} generations may run at once for one subject; one must end first.`,
    retryAfterMs: CONCURRENCY_RETRY_MS,
  }

  /**
   * Appends admission `id` with writer sequence `seq`: true when appended, else the least
   * sequence the next try must pass (the log's last one, when another admission came first).
   */
  const appendAdmission = async (log: string, id: string, seq: number): Promise<true | number> => {
    const writerSeq = String(seq).padStart(16, "0")
    let result = await engine.append(log, [{ data: id }], { create: admissionsConfig, writerSeq })
    // Made by a node with other limits: its config stays, the admission is counted.
    if (result.status === "conflict") result = await engine.append(log, [{ data: id }], { writerSeq })
    if (result.status === "appended") return true
    return result.status === "writer-seq-conflict" ? Number(result.lastWriterSeq) || 0 : 0
  }

  /** One admission, while no other of this node's for the subject runs. */
  const admitNow = async (
    subject: string | undefined,
    id: string,
    here: Set<string>,
    release: () => void,
  ): Promise<LimitTicket | LimitRefusal> => {
    const log = subjectScopedLog(ADMISSIONS_LOG_PREFIX, subject, "")
    // The last writer sequence seen: after a log expired and was made again, it may be past the end.
    let lastSeq = 0
    for (let round = 0; round < MAX_ADMISSION_ROUNDS; round++) {
      const [admissions, firstPage] = await Promise.all([readAdmissions(log), markerPage(subject, undefined)])
      if ((await runningCount(subject, here, admissions, firstPage)) > settings.maxConcurrent) {
        release()
        return concurrencyRefusal
      }
      const waitMs = rateWait(admissions)
      if (waitMs > 0) {
        release()
        return {
          code: "rate_limit_exceeded",
          message: `At most ${settings.maxPerMinute} generations may start per minute for one subject.`,
          retryAfterMs: waitMs,
        }
      }
      const appended = await appendAdmission(log, id, Math.max(admissions.tailSeq, lastSeq) + 1)
      if (appended === true) {
        return {
          // Its marker counts it from now on; its admission counted it until then.
          started: async () => release(),
          release: () => {
            released.set(id, now())
            release()
          },
        }
      }
      lastSeq = Math.max(lastSeq, appended)
    }
    release()
    return {
      code: "concurrency_limit_exceeded",
      message: "This subject's requests came too many at once to be counted; try again.",
      retryAfterMs: CONCURRENCY_RETRY_MS,
    }
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
      try {
        return await queues.take(key, () => admitNow(subject, id, here, release))
      } catch (error) {
        release()
        throw error
      }
    },
  }
}

/** Whether `admit` refused. */
export function isRefusal(outcome: LimitTicket | LimitRefusal): outcome is LimitRefusal {
  return "code" in outcome
}
