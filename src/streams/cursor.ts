/**
 * `Stream-Cursor` (protocol section 8.1): the number of the current 20-second interval since
 * 2024-10-09T00:00:00Z, never at or below the cursor the client echoed, so CDN cache keys move on
 * and a cached empty answer cannot loop.
 */

const INTERVAL_MS = 20_000
const CURSOR_EPOCH_MS = Date.UTC(2024, 9, 9)
/** The protocol's jitter: 1 to 3600 seconds, in whole intervals. */
const MAX_JITTER_INTERVALS = 3600_000 / INTERVAL_MS

/** The cursor to send, given the one the client echoed (`cursor` query parameter), if any. */
export function nextCursor(echoed: string | null, now: number = Date.now()): string {
  const current = intervalAt(now)
  const client = echoed !== null && /^\d{1,15}$/.test(echoed) ? Number(echoed) : -1
  if (client < current) return String(current)
  return String(client + 1 + Math.floor(Math.random() * MAX_JITTER_INTERVALS))
}

/**
 * The cursors of one SSE response's control events: the current interval, and never at or below
 * the one the client echoed — a jittered cursor is drawn once per response, so that its control
 * events do not drift apart, and readers without a collision share one value (and one frame).
 */
export function responseCursors(echoed: string | null): () => string {
  const floor = Number(nextCursor(echoed))
  let last = floor
  let text = String(floor)
  return () => {
    const cursor = Math.max(floor, intervalAt(Date.now()))
    if (cursor !== last) {
      last = cursor
      text = String(cursor)
    }
    return text
  }
}

function intervalAt(now: number): number {
  return Math.floor((now - CURSOR_EPOCH_MS) / INTERVAL_MS)
}
