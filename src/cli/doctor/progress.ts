import { seconds } from "./format.js"

/** A one-line progress report on a terminal, rewritten in place while the doctor watches. */
export interface Progress {
  update(seen: { events: number; comments: number; elapsedMs: number }): void
  /** Erases the line, before the report is printed. */
  clear(): void
}

/** Redraws at most this often: a busy stream must not flood the terminal. */
const REDRAW_MS = 100

/**
 * Progress on `stream` when it is a terminal; nothing otherwise (a log or a pipe wants the
 * report alone). A timer redraws it so the clock moves on a quiet stream too.
 */
export function createProgress(stream: NodeJS.WriteStream, durationMs: number): Progress {
  if (stream.isTTY !== true) return { update() {}, clear() {} }
  const started = Date.now()
  let seen = { events: 0, comments: 0 }
  let drawn = 0
  const draw = () => {
    drawn = Date.now()
    const elapsed = Math.min(drawn - started, durationMs)
    stream.write(
      `\r\x1b[2Kwatching ${seconds(elapsed)} / ${seconds(durationMs)} · ${seen.events} event(s) · ${seen.comments} heartbeat(s)`,
    )
  }
  const timer = setInterval(draw, 250)
  timer.unref()
  return {
    update(next) {
      seen = next
      if (Date.now() - drawn >= REDRAW_MS) draw()
    },
    clear() {
      clearInterval(timer)
      stream.write("\r\x1b[2K")
    },
  }
}
