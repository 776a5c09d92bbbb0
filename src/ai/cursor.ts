import { type Position, parsePosition } from "../engine/position.js"

/**
 * A reader's place in a generation's stream. Each SSE event carries an `id:`: the position of
 * the log entry it renders — or, when one entry renders several events (an Anthropic block's
 * stop, the next one's start, its delta), `{position}.{n}` on every event of the entry but its
 * last, `n` counting from 0. So a client cut off between two events of one entry resumes after
 * exactly the events it has, and the last event's id is the bare position, the log's own cursor.
 */
export interface Cursor {
  readonly position: Position
  readonly epoch: string
  readonly seq: number
  /** Events of the entry at `position` already received (all of them when `undefined`). */
  readonly eventsSeen: number | undefined
}

const SUB_EVENT = /^(.*)\.(\d{1,4})$/

/** The cursor an `id:` names, or `undefined` when it is none of Herald's. */
export function parseCursor(text: string): Cursor | undefined {
  const sub = SUB_EVENT.exec(text)
  const position = sub === null ? text : (sub[1] as string)
  const parsed = parsePosition(position)
  if (parsed === undefined) return undefined
  return {
    position,
    epoch: parsed.epoch,
    seq: parsed.seq,
    eventsSeen: sub === null ? undefined : Number(sub[2]) + 1,
  }
}

/** The `id:` of event `index` of the `count` events rendered from the entry at `position`. */
export function eventId(position: Position, index: number, count: number): string {
  return index === count - 1 ? position : `${position}.${index}`
}
