import type { Engine } from "../engine/engine.js"

/** Wakes a live reader when its log may have changed: it then re-reads from its offset (gap-free by construction). */
export interface Wake {
  /** Resolves at the next append, lost feed or `interrupt`, or after `timeoutMs`; at once if one came since the last call. */
  next(timeoutMs: number): Promise<void>
  /** Makes the pending (or next) {@link next} resolve: the client went away, the response must end. */
  interrupt(): void
  /** Releases the watch. */
  stop(): void
}

/** Watches `log` (the feed is active when this resolves, so an append after it is never missed). */
export async function watchLog(engine: Engine, log: string): Promise<Wake> {
  let signalled = false
  let resolvePending: (() => void) | undefined
  const signal = () => {
    signalled = true
    resolvePending?.()
  }
  const unwatch = await engine.watch(log, { onAppend: signal, onLost: signal })
  return {
    next(timeoutMs) {
      if (signalled) {
        signalled = false
        return Promise.resolve()
      }
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs)
        function done() {
          clearTimeout(timer)
          resolvePending = undefined
          signalled = false
          resolve()
        }
        resolvePending = done
      })
    },
    interrupt: signal,
    stop: unwatch,
  }
}
