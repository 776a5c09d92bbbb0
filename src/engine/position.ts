/**
 * Positions: where an entry sits in its log. One format on every engine, so a cursor minted on
 * one node (or by one engine) means the same entry everywhere.
 *
 * `{epoch}_{seq}`: the log incarnation's random epoch (8 lowercase base-36 characters), then the
 * entry's sequence number in that incarnation, zero-padded to 16 digits so that string order is
 * numeric order (Durable Streams asks offsets to sort as strings). A log's first entry has seq 1;
 * seq 0 is the position before it ("nothing read yet" in that epoch). A position never equals a
 * sentinel such as `-1`, `now` or `earliest`: those have no `_`.
 */

import { randomBytes } from "node:crypto"

/** An entry's place in its log: opaque to apps, sortable as a string within one epoch. */
export type Position = string

/** "Before the oldest entry held, whatever it is": reads from the start of what retention kept. */
export const START = "start"

const SEQ_DIGITS = 16
const EPOCH_LENGTH = 8
const POSITION = /^([0-9a-z]{8})_(\d{16})$/

/** A position split into its parts. */
export interface ParsedPosition {
  readonly epoch: string
  readonly seq: number
}

/** The position of entry `seq` of the incarnation `epoch`. */
export function formatPosition(epoch: string, seq: number): Position {
  return `${epoch}_${String(seq).padStart(SEQ_DIGITS, "0")}`
}

/** The parts of `position`, or `undefined` when it is not a position at all. */
export function parsePosition(position: string): ParsedPosition | undefined {
  const match = POSITION.exec(position)
  if (match === null) return undefined
  const seq = Number(match[2])
  if (!Number.isSafeInteger(seq)) return undefined
  return { epoch: match[1] as string, seq }
}

/** A fresh random epoch for a new incarnation of a log. */
export function newEpoch(): string {
  let epoch = ""
  for (const byte of randomBytes(EPOCH_LENGTH)) epoch += (byte % 36).toString(36)
  return epoch
}
