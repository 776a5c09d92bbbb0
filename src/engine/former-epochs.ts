import type { LogHead } from "./engine.js"
import type { ParsedPosition } from "./position.js"

/**
 * The last seq that the former epoch `epoch` of `head`'s log shares with its current epoch (a
 * replication fork, see {@link LogHead.formerEpochs}), or `undefined` when it is none of them.
 */
export function sharedUntil(head: Pick<LogHead, "formerEpochs">, epoch: string): number | undefined {
  return head.formerEpochs?.find((former) => former.epoch === epoch)?.sharedUntil
}

/** Whether `head`'s log is in `epoch`, or in an epoch that continues it. */
export function continuesEpoch(head: Pick<LogHead, "epoch" | "formerEpochs">, epoch: string): boolean {
  return head.epoch === epoch || sharedUntil(head, epoch) !== undefined
}

/**
 * `position` in the epoch of `head`: as it is when of that epoch; with the same seq when of a
 * former epoch the current one continues that far; `undefined` otherwise.
 */
export function inCurrentEpoch(
  head: Pick<LogHead, "epoch" | "formerEpochs">,
  position: ParsedPosition,
): ParsedPosition | undefined {
  if (position.epoch === head.epoch) return position
  const shared = sharedUntil(head, position.epoch)
  return shared !== undefined && position.seq <= shared ? { epoch: head.epoch, seq: position.seq } : undefined
}
