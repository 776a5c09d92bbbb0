import type { Engine } from "../engine/engine.js"
import { type Position, START } from "../engine/position.js"
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

/** The memory turned off: nothing recorded, nothing restored. */
export const NO_REASONING_MEMORY: ReasoningMemory = {
  recorder: () => undefined,
  restore: async (_subject, request) => request,
}

/** Most calls of one generation recorded: each is a write to the store. */
export const MAX_RECORDED_CALLS = 128
/** Most entries of a generation read to restore a turn from it; a longer one is not used. */
export const MAX_ENTRIES_READ = 100_000
const PAGE = 1000

/** The memory on `engine`, each record kept `ttlMs` (the generations' retention). */
export function createReasoningMemory(engine: Engine, ttlMs: number, logger: Logger): ReasoningMemory {
  const origins = createLatestGenerations(engine, "ai/call/", ttlMs)

  /** The turn as generation `id` gave it, or `undefined` when it cannot be restored from it. */
  const fromGeneration = async (
    subject: string | undefined,
    turn: AssistantMessage,
  ): Promise<AssistantMessage | undefined> => {
    const callId = firstCallId(turn)
    const id = callId === undefined ? undefined : await origins.latest(subject, callId)
    const found = id === undefined ? undefined : await findGeneration(engine, id)
    if (found === undefined || found.meta.owner !== subject) return undefined
    const entries = await readAll(engine, found.log)
    return entries === undefined ? undefined : restoredTurn(turn, foldAnswer(entries))
  }

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
      const restored = await Promise.all(
        bare.map((i) => fromGeneration(subject, messages[i] as AssistantMessage)),
      )
      let changed = false
      bare.forEach((i, n) => {
        const turn = restored[n]
        if (turn === undefined) return
        messages[i] = turn
        changed = true
      })
      return changed ? { ...request, messages } : request
    },
  }
}

/** Every entry of a generation's log as stored now, or `undefined` when it is gone or too long. */
async function readAll(engine: Engine, log: string): Promise<StoredEntry[] | undefined> {
  const entries: StoredEntry[] = []
  let after: Position = START
  for (;;) {
    const read = await engine.read(log, after, PAGE, { touch: false })
    if (!read.held) return undefined
    for (const entry of read.entries) entries.push(parseEntry(entry.data))
    const last = read.entries.at(-1)
    if (!read.more || last === undefined) return entries
    if (entries.length >= MAX_ENTRIES_READ) return undefined
    after = last.position
  }
}
