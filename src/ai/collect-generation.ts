import type { Engine } from "../engine/engine.js"
import { follow } from "../engine/follow.js"
import { START } from "../engine/position.js"
import { parseEntry, type StoredEntry } from "./stored-entry.js"

/**
 * Every entry of a generation once it has ended (a non-streaming response), read from its log.
 * Rejects if the log ends otherwise (deleted, expired) or when `signal` aborts (the client left).
 */
export async function collectGeneration(
  engine: Engine,
  log: string,
  signal: AbortSignal,
): Promise<StoredEntry[]> {
  const entries: StoredEntry[] = []
  let settle!: { resolve: () => void; reject: (error: unknown) => void }
  const ended = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject }
  })
  const follower = await follow(engine, log, START, {
    notHeld: "end",
    onEnd: (reason, error) => {
      if (reason === "closed") settle.resolve()
      else settle.reject(error ?? new Error(`the generation's log ended: ${reason}`))
    },
  })
  if (follower.status === "not-held") throw new Error(`the generation's log is not held (${follower.reason})`)
  const onAbort = (): void => {
    follower.stop()
    settle.reject(signal.reason)
  }
  signal.addEventListener("abort", onAbort, { once: true })
  if (signal.aborted) onAbort()
  try {
    await follower.start(
      (entry) => {
        entries.push(parseEntry(entry.data))
        return true
      },
      () => Promise.resolve(),
    )
    await ended
    return entries
  } finally {
    signal.removeEventListener("abort", onAbort)
    follower.stop()
  }
}
