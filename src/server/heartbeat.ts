import { encode } from "../protocol/index.js"
import type { Frame } from "./queue.js"

/** A comment line: every parser ignores it, every proxy sees traffic. */
export const HEARTBEAT_FRAME: string = encode({ comment: "" })

/** Anything a heartbeat can write to. */
export interface HeartbeatTarget {
  writeFrame(frame: Frame): boolean
  /** A target whose writes are already waiting is not idle: it is skipped. */
  readonly backpressured?: boolean
}

/** One timer that keeps many idle connections alive. */
export interface Heartbeat {
  /** Starts the timer if it is not running. */
  start(): void
  /** Stops the timer; no more beats until the next `start()`. */
  stop(): void
  readonly running: boolean
}

/**
 * Writes a heartbeat comment to every target in `targets` (read live at each tick, so a `Set`
 * the caller keeps current works) every `intervalMs` milliseconds.
 *
 * ONE timer serves all connections: 10 000 connections cost one timer wake-up per interval,
 * not 10 000 timers. The timer is `unref`'d, so it never keeps a process alive on its own.
 * Proxies close idle streams after ~60 s (nginx, AWS ALB) or ~100 s (Cloudflare); 15 s, the
 * default, stays well under those.
 */
export function createHeartbeat(intervalMs: number, targets: Iterable<HeartbeatTarget>): Heartbeat {
  let timer: ReturnType<typeof setInterval> | undefined
  const beat = (): void => {
    for (const target of targets) if (target.backpressured !== true) target.writeFrame(HEARTBEAT_FRAME)
  }
  return {
    start() {
      if (timer !== undefined || intervalMs <= 0) return
      timer = setInterval(beat, intervalMs)
      timer.unref?.()
    },
    stop() {
      if (timer === undefined) return
      clearInterval(timer)
      timer = undefined
    },
    get running() {
      return timer !== undefined
    },
  }
}
