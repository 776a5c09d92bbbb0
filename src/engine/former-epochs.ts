import type { LogHead } from "./engine.js"
import type { ParsedPosition } from "./position.js"

/**
 * `position` in the epoch of `head`: as it is when of that epoch; with the same seq when of a
 * former epoch the current one continues that far (a replication fork, see
 * {@link LogHead.formerEpochs}); `undefined` otherwise.
 */
export function inCurrentEpoch(
  head: Pick<LogHead, "epoch" | "formerEpochs">,
  position: ParsedPosition,
): ParsedPosition | undefined {
  if (position.epoch === head.epoch) return position
  const former = head.formerEpochs?.find((earlier) => earlier.epoch === position.epoch)
  return former !== undefined && position.seq <= former.sharedUntil
    ? { epoch: head.epoch, seq: position.seq }
    : undefined
}
