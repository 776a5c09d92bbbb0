/** What a group commit says of one submission: its result, or why it alone failed. */
export type Outcome<Result> =
  | { readonly ok: true; readonly value: Result }
  | { readonly ok: false; readonly error: unknown }

interface Pending<Item, Result> {
  readonly item: Item
  readonly resolve: (value: Result) => void
  readonly reject: (error: unknown) => void
}

/**
 * Commits concurrent submissions together. A synchronous driver (better-sqlite3) never lets a
 * submission arrive while a commit runs, so the group is "everything submitted during one turn
 * of the event loop": the first submission schedules the commit at the end of the turn
 * (`setImmediate`), later ones join it, and whatever arrives while it runs goes into the next.
 * One transaction, one WAL commit, for many publishes: that is where the per-commit cost goes.
 *
 * `commit` gets the items in submission order and answers an {@link Outcome} for each, so one
 * failed item does not fail the others; if it throws (the commit itself failed), every item of
 * the group is rejected with that error. Callers are settled in submission order, after
 * `commit` has returned.
 */
export class GroupCommit<Item, Result> {
  readonly #commit: (items: readonly Item[]) => readonly Outcome<Result>[]
  #queue: Pending<Item, Result>[] = []
  #scheduled: NodeJS.Immediate | undefined
  #flushing = false
  #paused = false

  constructor(commit: (items: readonly Item[]) => readonly Outcome<Result>[]) {
    this.#commit = commit
  }

  /** Queues `item` for the next group; resolves with its result once that group is committed. */
  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      this.#schedule()
    })
  }

  /**
   * Holds the next groups until `until` settles; submissions queue meanwhile (and then commit
   * as one group). Back-pressure that leaves the event loop free, unlike a blocking wait.
   */
  pause(until: Promise<unknown>): void {
    this.#paused = true
    const resume = () => {
      this.#paused = false
      this.#schedule()
    }
    until.then(resume, resume)
  }

  /**
   * Commits whatever is queued now, paused or not, without waiting for the end of the turn
   * (before a close). What is submitted while a group commits (by code `commit` calls, such as
   * a live-feed listener reacting to an update) is committed next, before this returns.
   */
  flush(): void {
    this.#commitQueued(true)
  }

  #schedule(): void {
    if (this.#flushing || this.#paused || this.#queue.length === 0) return
    this.#scheduled ??= setImmediate(() => this.#commitQueued(false))
  }

  #commitQueued(evenPaused: boolean): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled)
    this.#scheduled = undefined
    this.#flushing = true
    try {
      while (this.#queue.length > 0 && (evenPaused || !this.#paused)) this.#commitGroup()
    } finally {
      this.#flushing = false
    }
  }

  #commitGroup(): void {
    const group = this.#queue
    this.#queue = []
    let outcomes: readonly Outcome<Result>[]
    try {
      outcomes = this.#commit(group.map((pending) => pending.item))
    } catch (error) {
      for (const pending of group) pending.reject(error)
      return
    }
    group.forEach((pending, i) => {
      const outcome = outcomes[i] as Outcome<Result>
      if (outcome.ok) pending.resolve(outcome.value)
      else pending.reject(outcome.error)
    })
  }
}
