/** One kind of error, how often it happened, and the first message of that kind. */
export interface ErrorCount {
  readonly count: number
  /** The first occurrence's full message (a hub's reason for a refusal, say). */
  readonly sample: string
}

/**
 * Errors grouped by kind (`subscribe: HTTP 429`, `publish: ECONNRESET`): a run may hit the same
 * one thousands of times, and the report must stay one line per kind.
 */
export class ErrorTally {
  private readonly kinds = new Map<string, { count: number; sample: string }>()

  /** Counts one error of `kind`; `sample` is kept only for the first of its kind. */
  add(kind: string, sample: string = kind): void {
    const entry = this.kinds.get(kind)
    if (entry === undefined) this.kinds.set(kind, { count: 1, sample })
    else entry.count++
  }

  /** How many errors, all kinds together. */
  get total(): number {
    let total = 0
    for (const entry of this.kinds.values()) total += entry.count
    return total
  }

  /** The kinds, most frequent first. */
  entries(): [string, ErrorCount][] {
    return [...this.kinds.entries()]
      .sort(([, a], [, b]) => b.count - a.count)
      .map(([kind, entry]) => [kind, { ...entry }])
  }
}
