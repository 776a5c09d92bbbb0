import { setTimeout as sleep } from "node:timers/promises"

/**
 * Calls `action(0)` … `action(count - 1)` at `perSecond` a second, evenly spaced from the call:
 * action `i` is due `i / perSecond` s after the start. Timers fire late under load, so each wake-up
 * runs every action that is due by then: the average rate holds even when one tick does not.
 * Resolves after the last action, or when `signal` aborts.
 */
export async function atSteadyRate(
  count: number,
  perSecond: number,
  signal: AbortSignal,
  action: (index: number) => void,
): Promise<void> {
  const now = () => performance.now()
  const started = now()
  let done = 0
  while (done < count && !signal.aborted) {
    const due = Math.min(count, Math.floor(((now() - started) * perSecond) / 1000) + 1)
    while (done < due) action(done++)
    if (done >= count) break
    const nextAt = started + (done * 1000) / perSecond
    await sleep(Math.max(1, nextAt - now()), undefined, { signal }).catch(() => {})
  }
}
