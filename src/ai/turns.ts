/**
 * Work done one at a time per key, on this node: each call's work starts once the work of the
 * call before it with the same key has settled (resolved or rejected), or after `maxWaitMs` of
 * waiting for it, when given. A key is forgotten once its last work settled.
 */
export interface Turns {
  take<T>(key: string, work: () => Promise<T>, maxWaitMs?: number): Promise<T>
}

/** A new set of {@link Turns}. */
export function createTurns(): Turns {
  /** By key, the end of the last work queued: it never rejects. */
  const last = new Map<string, Promise<unknown>>()
  return {
    take(key, work, maxWaitMs) {
      const previous = last.get(key) ?? Promise.resolve()
      let timer: NodeJS.Timeout | undefined
      const waited =
        maxWaitMs === undefined
          ? previous
          : Promise.race([
              previous,
              new Promise<void>((resolve) => {
                timer = setTimeout(resolve, maxWaitMs)
              }),
            ])
      const outcome = waited.then(() => {
        clearTimeout(timer)
        return work()
      })
      const settled = outcome.catch(() => undefined)
      last.set(key, settled)
      void settled.then(() => {
        if (last.get(key) === settled) last.delete(key)
      })
      return outcome
    },
  }
}
