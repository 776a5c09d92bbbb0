/**
 * A source forked again and again by forks that expire would keep a marker per fork for as long
 * as it lives (fork.ts). So each new fork looks at the next few markers of its source, going
 * round them, and removes those whose fork is gone: as each fork adds one marker and looks at
 * more than one, stale markers cannot pile up past a fraction of the live ones.
 */

import type { ForkMarkerSweep } from "./context.js"
import { dropStaleMarker, markersOf, namesLiveFork } from "./fork.js"
import { loadStream, type Stream } from "./stream.js"

/** Markers looked at per fork created. */
const MARKERS_PER_FORK = 2
/**
 * A marker younger than this may name a fork that is being created (its log is made just after
 * the marker): it is never taken for a stale one.
 */
const MARKER_GRACE_MS = 60_000
/** Sources whose place in the round this node keeps; a forgotten one starts over. */
const SOURCES_KEPT = 1000

export function createForkMarkerSweep(): ForkMarkerSweep {
  /** Per source, the last marker looked at; in the order sources were swept last, oldest first. */
  const places = new Map<string, string>()
  return {
    async sweep(context, source, now) {
      const after = places.get(source)
      places.delete(source)
      const page = await context.engine.list({
        prefix: markersOf(source),
        limit: MARKERS_PER_FORK,
        ...(after === undefined ? {} : { after }),
      })
      // The stream at the source's path, read once for the markers looked at.
      let current: Promise<Stream | undefined> | undefined
      for (const marker of page.logs) {
        if (now - marker.createdAt < MARKER_GRACE_MS) continue
        current ??= loadStream(context.engine, source)
        if (!(await namesLiveFork(context, source, marker.name, await current)))
          await dropStaleMarker(context, source, marker.name, await current)
      }
      const last = page.logs[page.logs.length - 1]
      // The last page: the next sweep starts over from the first marker.
      if (page.next === undefined || last === undefined) return
      places.set(source, last.name)
      if (places.size > SOURCES_KEPT) places.delete(places.keys().next().value as string)
    },
  }
}
