import type { Engine } from "../engine/engine.js"
import { type Position, START } from "../engine/position.js"
import { EngineUnavailableError } from "../engine/unavailable.js"
import type { Logger } from "../logger.js"
import { foldAnswer } from "./answer.js"
import type { Entry } from "./entries.js"
import { findGeneration } from "./generation-state.js"
import { createLatestGenerations } from "./latest-generations.js"
import type { AssistantMessage, NormalizedRequest } from "./request.js"
import { bareToolTurns, firstCallId, goesBackWithTurn, restoredTurn } from "./restored-turn.js"
import { parseEntry, type StoredEntry } from "./stored-entry.js"

/**
 * Herald remembers which generation made each tool call whose turn has reasoning to go back
 * (restored-turn.ts), so that a client that dropped it still runs a thinking model's tool loop:
 * the turn it sends back bare is given its reasoning again from that generation's log, on any
 * node, while the generation is kept. A record is a log per subject and call id
 * (`ai/call/…`); a subject finds only its own.
 */
export interface ReasoningMemory {
  /** Watches generation `id`'s entries as they come, and records its calls once the answer has something to go back. */
  recorder(subject: string | undefined, id: string): TurnRecorder | undefined
  /** `request` with its bare tool turns given back their reasoning, where it is remembered. */
  restore(subject: string | undefined, request: NormalizedRequest): Promise<NormalizedRequest>
}

/** Records one generation's tool calls (see {@link ReasoningMemory.recorder}). */
export interface TurnRecorder {
  observe(entry: Entry): void
  /** Settles once every record begun is stored or failed (a failure is logged). */
  settled(): Promise<void>
}

/**
 * What came of one bare tool turn: `restored`; `unknown` (no record of its calls, or their
 * generation is gone); `other` (the generation found did not make these calls, or gave nothing
 * to go back); `failed` (the lookup failed; the turn went as it came).
 */
export type RestoreOutcome = "restored" | "unknown" | "other" | "failed"

/** The memory turned off: nothing recorded, nothing restored. */
export const NO_REASONING_MEMORY: ReasoningMemory = {
  recorder: () => undefined,
  restore: async (_subject, request) => request,
}

/** Most calls of one generation recorded: each is a write to the store. */
export const MAX_RECORDED_CALLS = 128
/**
 * Most entries read from the store to restore one request's turns, all its generations
 * together; a generation that would pass it is not used.
 */
export const MAX_ENTRIES_READ = 100_000
const PAGE = 1000

/**
 * The memory on `engine`, each record kept `ttlMs` (the generations' retention); `observe` is
 * told what came of each bare turn (the metrics count it).
 */
export function createReasoningMemory(
  engine: Engine,
  ttlMs: number,
  logger: Logger,
  observe: (outcome: RestoreOutcome) => void = () => {},
): ReasoningMemory {
  const origins = createLatestGenerations(engine, "ai/call/", ttlMs)

  return {
    recorder(subject, id) {
      let goesBack = false
      const unrecorded: string[] = []
      const writes: Promise<void>[] = []
      let recorded = 0
      return {
        observe(entry) {
          if (entry.type === "tool-call-start" && entry.id !== "" && recorded < MAX_RECORDED_CALLS) {
            recorded++
            unrecorded.push(entry.id)
          }
          goesBack ||= goesBackWithTurn(entry)
          if (!goesBack) return
          for (const callId of unrecorded.splice(0)) {
            writes.push(
              origins.record(subject, callId, id).catch((error: unknown) => {
                logger.warn({ err: error, generation: id }, "could not record a tool call's generation")
              }),
            )
          }
        },
        async settled() {
          await Promise.all(writes)
        },
      }
    },

    async restore(subject, request) {
      const bare = bareToolTurns(request.messages)
      if (bare.length === 0) return request
      const messages = [...request.messages]
      // One after the other, latest first, within one budget of entries read.
      const budget = { entries: MAX_ENTRIES_READ }
      let changed = false
      for (const i of bare.reverse()) {
        const turn = messages[i] as AssistantMessage
        let restored: AssistantMessage | RestoreOutcome
        try {
          restored = await fromGeneration(turn)
        } catch (error) {
          // The store is away: the request cannot start either, and says so (503).
          if (error instanceof EngineUnavailableError) throw error
          logger.warn({ err: error }, "could not restore a tool turn's reasoning; it goes as it came")
          restored = "failed"
        }
        observe(typeof restored === "string" ? restored : "restored")
        if (typeof restored === "string") continue
        messages[i] = restored
        changed = true
      }
      return changed ? { ...request, messages } : request

      /** The turn as the generation that made its calls gave it, or why not. */
      async function fromGeneration(turn: AssistantMessage): Promise<AssistantMessage | RestoreOutcome> {
        const callId = firstCallId(turn)
        const id = callId === undefined ? undefined : await origins.latest(subject, callId)
        const found = id === undefined ? undefined : await findGeneration(engine, id)
        if (found === undefined) return "unknown"
        if (found.meta.owner !== subject) return "other"
        const entries = await readAll(engine, found.log, budget)
        if (entries === undefined) return "failed"
        return restoredTurn(turn, foldAnswer(entries)) ?? "other"
      }
    },
  }
}

/**
 * Every entry of a generation's log as stored now, counted against `budget`; `undefined` when
 * it is gone or would pass the budget.
 */
async function readAll(
  engine: Engine,
  log: string,
  budget: { entries: number },
): Promise<StoredEntry[] | undefined> {
  const entries: StoredEntry[] = []
  let after: Position = START
  for (;;) {
    if (budget.entries <= 0) return undefined
    const read = await engine.read(log, after, Math.min(PAGE, budget.entries + 1), { touch: false })
    if (!read.held) return undefined
    budget.entries -= read.entries.length
    if (budget.entries < 0) return undefined
    for (const entry of read.entries) entries.push(parseEntry(entry.data))
    const last = read.entries.at(-1)
    if (!read.more || last === undefined) return entries
    after = last.position
  }
}
