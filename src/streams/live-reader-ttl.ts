/**
 * A stream with live readers does not expire (protocol section 5.1, `Stream-TTL`): a long-poll
 * or SSE response resets the sliding TTL when it begins, and a reader may then wait longer than
 * the TTL with nothing appended. So while a live read is open on this node, its stream's log is
 * read (which slides the TTL on every engine) every third of the TTL: one timer per stream
 * incarnation, however many of its readers are open here. A fork's marker is renewed with it
 * (fork-marker-ttl.ts).
 */

import type { Engine } from "../engine/engine.js"
import type { Logger } from "../logger.js"
import { MAX_TIMER_DELAY_MS } from "../timer-delay.js"
import type { Stream } from "./stream.js"

/** Slides the TTLs of the streams that live readers hold open on this node. */
export interface LiveReaderTtl {
  /** Keeps `stream` from expiring until the returned function is called (once the response ends). */
  hold(stream: Stream): () => void
}

/** How often, in parts of the TTL, a held stream is touched: well under half of it, so that a late timer still makes it. */
const TOUCHES_PER_TTL = 3

interface Held {
  readers: number
  timer: NodeJS.Timeout | undefined
}

/** `touched` is told of each stream the timer touched (ForkMarkerTtl's). */
export function createLiveReaderTtl(
  engine: Engine,
  logger: Logger,
  touched: (stream: Stream) => Promise<void>,
): LiveReaderTtl {
  const held = new Map<string, Held>()
  const touch = async (stream: Stream, entry: Held): Promise<void> => {
    try {
      const read = await engine.read(stream.log, stream.head.tail, 1)
      // Gone, or another stream at its URL now: nothing left to keep for these readers.
      if (!read.held && (read.reason === "missing" || read.reason === "other-epoch")) {
        clearInterval(entry.timer)
        entry.timer = undefined
        return
      }
      await touched(stream)
    } catch (error) {
      // The next touch may reach the engine; a reader's own request reports an engine away.
      logger.debug({ err: error, log: stream.log }, "a live reader's stream could not be touched")
    }
  }
  return {
    hold(stream) {
      const { ttlMs } = stream.head.config
      if (ttlMs === undefined) return () => {}
      const key = `${stream.head.epoch} ${stream.log}`
      let entry = held.get(key)
      if (entry === undefined) {
        const created: Held = { readers: 0, timer: undefined }
        const every = Math.min(ttlMs / TOUCHES_PER_TTL, MAX_TIMER_DELAY_MS)
        created.timer = setInterval(() => void touch(stream, created), every)
        created.timer.unref()
        held.set(key, created)
        entry = created
      }
      entry.readers++
      const holding = entry
      let released = false
      return () => {
        if (released) return
        released = true
        if (--holding.readers > 0) return
        clearInterval(holding.timer)
        held.delete(key)
      }
    },
  }
}
