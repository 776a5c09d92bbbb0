/**
 * A fork's marker (fork.ts) expires with its fork, so that forks and sources that expire leave no
 * marker behind (nothing else looks at a source's markers once the source is gone, and each is a
 * log of the engine's `maxLogs`, or Redis keys). With the fork's `Stream-Expires-At` it expires at
 * the same time. A fork with a `Stream-TTL` lives on while it is touched (read, appended to, held
 * by a live reader), so its marker has a sliding TTL of twice the fork's that every touch of the
 * fork renews (reads it), at most once per half of the fork's TTL on each node: whenever the fork
 * is touched its marker has at least one and a half TTLs left, which also covers the touches that
 * follow a renewal without one of their own (a read after its request began, an SSE response's
 * live reads between the live-reader timer's turns, a third of the TTL apart). Far cheaper than a
 * sweep over every marker: one engine read per fork per half TTL per node, none for other streams.
 */

import type { Engine } from "../engine/engine.js"
import { START } from "../engine/position.js"
import type { ForkMarkerTtl } from "./context.js"
import { markerOf } from "./fork.js"

/** Forks whose last renewal this node keeps; a forgotten one is renewed at its next touch. */
const FORKS_KEPT = 1000

export function createForkMarkerTtl(engine: Engine): ForkMarkerTtl {
  /** Per fork incarnation, when this node last renewed its marker; oldest renewal first. */
  const renewed = new Map<string, number>()
  return {
    async touched(stream) {
      const { fork } = stream
      const { ttlMs } = stream.head.config
      if (fork === undefined || ttlMs === undefined) return
      const key = `${stream.head.epoch} ${stream.log}`
      const now = Date.now()
      const last = renewed.get(key)
      if (last !== undefined && now - last < ttlMs / 2) return
      // Taken before the read: the requests touching it meanwhile need no renewal of their own.
      renewed.delete(key)
      renewed.set(key, now)
      if (renewed.size > FORKS_KEPT) renewed.delete(renewed.keys().next().value as string)
      try {
        // A read slides the marker's TTL; one that is gone (its fork deleted meanwhile) stays gone.
        await engine.read(markerOf(fork.source, stream.path), START, 1)
      } catch (error) {
        renewed.delete(key)
        throw error
      }
    },
  }
}
