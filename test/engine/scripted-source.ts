import type { Entry, FeedSink } from "../../src/engine/engine.js"
import type { Follower, FollowSource } from "../../src/engine/follow.js"

/**
 * A source for follow() whose heads and reads the test answers and whose feed it drives:
 * `sink()` is what follow() watches the log with.
 */
export function scriptedSource(head: FollowSource["head"], read: FollowSource["read"]) {
  let watching: FeedSink | undefined
  const source: FollowSource = {
    watch: async (_log, sink) => {
      watching = sink
      return () => {}
    },
    head,
    read,
  }
  const sink = (): FeedSink => {
    if (watching === undefined) throw new Error("follow() has not watched the log")
    return watching
  }
  return { source, sink }
}

/** Starts `follower` with a reader that keeps up and keeps every entry delivered, in order. */
export function collect(follower: Follower): { readonly entries: Entry[]; readonly started: Promise<void> } {
  const entries: Entry[] = []
  const started = follower.start(
    (entry) => {
      entries.push(entry)
      return true
    },
    async () => {},
  )
  return { entries, started }
}
