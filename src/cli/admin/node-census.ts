import type { Engine, Signal } from "../../engine/engine.js"
import type { Logger } from "../../logger.js"

/** One node's figures, as every node's dashboard lists them. */
export interface NodeFigures {
  readonly node: string
  readonly connections: number
  readonly subscriptions: number
  /** Updates accepted from publishers on that node, per second. */
  readonly in: number
  /** Updates written to that node's subscribers, per second. */
  readonly out: number
  /** AI generations running there. */
  readonly generations: number
}

/** The nodes sharing an engine, each heard from lately. */
export interface NodeCensus {
  /** Asks every node for its figures; they answer over the engine's signals within a moment. */
  ask(): void
  /** This node's figures, then the other nodes heard from within the last few seconds, by id. */
  nodes(): readonly NodeFigures[]
  /** Stops answering and listening. */
  stop(): void
}

/** The question, sent by a node whose dashboard is watched; payload: the asking node's id. */
const ASK = "herald.admin.census"
/** An answer; payload: the answering node's {@link NodeFigures} as JSON. */
const ANSWER = "herald.admin.figures"
/** A node not heard from for this long is dropped from the list. */
const FORGET_AFTER_MS = 5000
/** A node answers at most this often, however many dashboards ask. */
const ANSWER_EVERY_MS = 500

/**
 * Per-node figures over the engine's signals (DESIGN: "a small cross-node control channel"):
 * costs nothing while no dashboard is open, one question and one answer per node per second
 * while one is. On a single-node engine (memory, sqlite) the list is this node alone.
 */
export function createNodeCensus(
  engine: Engine,
  own: () => NodeFigures,
  logger: Logger,
  now: () => number = Date.now,
): NodeCensus {
  const heard = new Map<string, { readonly figures: NodeFigures; readonly at: number }>()
  let answeredAt = Number.NEGATIVE_INFINITY
  const send = (signal: Signal): void => {
    engine.signal(signal).catch((error: unknown) => {
      logger.debug({ err: error, topic: signal.topic }, "dashboard: a census signal was not sent")
    })
  }
  const stop = engine.onSignal((signal) => {
    if (signal.topic === ASK) {
      if (now() - answeredAt < ANSWER_EVERY_MS) return
      answeredAt = now()
      send({ topic: ANSWER, payload: JSON.stringify(own()) })
    } else if (signal.topic === ANSWER) {
      const figures = parseFigures(signal.payload)
      if (figures !== undefined) heard.set(figures.node, { figures, at: now() })
    }
  })
  return {
    ask() {
      send({ topic: ASK, payload: own().node })
    },
    nodes() {
      const self = own()
      const others: NodeFigures[] = []
      for (const [node, { figures, at }] of heard) {
        if (now() - at > FORGET_AFTER_MS) heard.delete(node)
        else if (node !== self.node) others.push(figures)
      }
      return [self, ...others.sort((a, b) => (a.node < b.node ? -1 : 1))]
    },
    stop,
  }
}

/** Another node's answer, or `undefined` when it is not one this version understands. */
function parseFigures(payload: string): NodeFigures | undefined {
  let value: unknown
  try {
    value = JSON.parse(payload)
  } catch {
    return undefined
  }
  if (typeof value !== "object" || value === null) return undefined
  const record = value as Record<string, unknown>
  const numbers = ["connections", "subscriptions", "in", "out", "generations"] as const
  if (typeof record.node !== "string" || numbers.some((key) => typeof record[key] !== "number")) {
    return undefined
  }
  return {
    node: record.node,
    connections: record.connections as number,
    subscriptions: record.subscriptions as number,
    in: record.in as number,
    out: record.out as number,
    generations: record.generations as number,
  }
}
