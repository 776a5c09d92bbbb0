/**
 * The longest delay a Node.js timer holds, ms: 2^31 − 1, about 24.8 days. Past it, `setTimeout`
 * and `setInterval` warn and fire after 1 ms, so a longer interval must be refused or clamped.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1

/** Throws a RangeError naming `option` when `ms` is longer than a timer can wait. */
export function assertTimerDelay(option: string, ms: number): void {
  if (ms > MAX_TIMER_DELAY_MS) {
    throw new RangeError(
      `${option} must be at most ${MAX_TIMER_DELAY_MS} ms (about 24.8 days), the longest a timer can wait; got ${ms}.`,
    )
  }
}
