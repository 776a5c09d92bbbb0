/** The longest delay `setTimeout` honours; a larger one overflows and fires at once. */
export const MAX_TIMER_DELAY = 2 ** 31 - 1

/**
 * Checks a timeout option (`connectTimeout`, `idleTimeout`): `undefined` means none, anything
 * else must be a usable `setTimeout` delay in milliseconds.
 * @throws TypeError naming the option and the value it got.
 */
export function timeoutOption(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined
  if (typeof value === "number" && value > 0 && value <= MAX_TIMER_DELAY) return value
  throw new TypeError(
    `EventSource: ${name} must be a number of milliseconds above 0 and at most ${MAX_TIMER_DELAY}, ` +
      `or undefined for no timeout; got ${typeof value === "string" ? JSON.stringify(value) : String(value)}.`,
  )
}

/** A `setTimeout` that, in Node, does not keep the process alive by itself: the socket it watches does. */
export function startTimer(ms: number, callback: () => void): ReturnType<typeof setTimeout> {
  const timer = setTimeout(callback, ms)
  // Browsers and workers return a number, which has no unref.
  if (typeof timer === "object") (timer as { unref?: () => void }).unref?.()
  return timer
}

/** Tells an {@link watchIdle} watch when the reader waits for the network and when bytes arrive. */
export interface IdleWatch {
  /** A read from the network starts. */
  waiting(): void
  /** That read returned (bytes, or the end). Time until the next `waiting()` is not idle time. */
  received(): void
  /** Clears the timer; `onIdle` is not called after this. */
  stop(): void
}

/**
 * Calls `onIdle` once, when one wait for the network has lasted `ms`. There is one timer per
 * connection, not one per chunk: a chunk only records the time, and when the timer fires before
 * the window is up it re-arms for what is left. Time the reader spends not waiting (parsing, or
 * paused while an async iterator catches up) is never counted: the network is not at fault.
 */
export function watchIdle(ms: number, onIdle: () => void): IdleWatch {
  let waitingSince: number | undefined
  let timer = startTimer(ms, check)
  function check(): void {
    const left = waitingSince === undefined ? ms : waitingSince + ms - performance.now()
    if (left > 0) timer = startTimer(left, check)
    else onIdle()
  }
  return {
    waiting() {
      waitingSince = performance.now()
    },
    received() {
      waitingSince = undefined
    },
    stop() {
      clearTimeout(timer)
    },
  }
}
