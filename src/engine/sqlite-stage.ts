/**
 * What one write transaction has done so far to cached per-log state, kept aside until it
 * commits. A group commit is one transaction whose callers write into the group's stage; when
 * one of them throws, the group runs again with a savepoint per caller: each caller a child stage
 * merged into it when the caller's savepoint is released (and dropped when it rolls back). The
 * engine installs the group's stage into its cache, and runs its effects (telling the live
 * feed), only once the transaction has committed. So the cache never holds what a rollback
 * undid, and a caller sees what earlier callers of its group wrote.
 */
export class Stage<State> {
  readonly #parent: Stage<State> | undefined
  /** The committed state of a name, for names no stage of this transaction has written. */
  readonly #committed: (name: string) => State | undefined
  /** Written states by name; `undefined`: the name was dropped. */
  #states: Map<string, State | undefined> | undefined
  #effects: (() => void)[] | undefined
  /** Names whose row is to be written once, with their final state, before the commit. */
  #dirty: Set<string> | undefined
  #logDelta = 0

  constructor(committed: (name: string) => State | undefined, parent?: Stage<State>) {
    this.#committed = committed
    this.#parent = parent
  }

  /** A stage for one caller of this group: {@link Stage.merge} it if its savepoint is released. */
  child(): Stage<State> {
    return new Stage(this.#committed, this)
  }

  /** The state of `name` as this transaction leaves it so far. */
  get(name: string): State | undefined {
    if (this.#states?.has(name)) return this.#states.get(name)
    return this.#parent === undefined ? this.#committed(name) : this.#parent.get(name)
  }

  /** Records the new state of `name`; `undefined` once it is dropped. */
  set(name: string, state: State | undefined): void {
    this.#states ??= new Map()
    this.#states.set(name, state)
  }

  /**
   * Marks the row of `name` to be written from its final state before the transaction commits
   * (see {@link Stage.dirty}): many appends to one log in a group write its row once.
   */
  markDirty(name: string): void {
    this.#dirty ??= new Set()
    this.#dirty.add(name)
  }

  /** The names marked by {@link Stage.markDirty} in this stage and its merged children. */
  dirty(): ReadonlySet<string> {
    return this.#dirty ?? new Set()
  }

  /** Counts a log created (+1) or dropped (-1). */
  countLogs(delta: number): void {
    this.#logDelta += delta
  }

  /** Logs created minus logs dropped by this transaction so far. */
  get logDelta(): number {
    return this.#logDelta + (this.#parent?.logDelta ?? 0)
  }

  /** Runs `effect` once the transaction has committed, after the effects recorded before it. */
  after(effect: () => void): void {
    this.#effects ??= []
    this.#effects.push(effect)
  }

  /** Hands what this child stage recorded to its parent (its savepoint was released). */
  merge(): void {
    const parent = this.#parent as Stage<State>
    if (this.#states !== undefined) for (const [name, state] of this.#states) parent.set(name, state)
    if (this.#effects !== undefined) for (const effect of this.#effects) parent.after(effect)
    if (this.#dirty !== undefined) for (const name of this.#dirty) parent.markDirty(name)
    parent.countLogs(this.#logDelta)
  }

  /** The committed transaction's states (for the cache) and its effects, in order. */
  outcome(): {
    states: ReadonlyMap<string, State | undefined>
    effects: readonly (() => void)[]
    logDelta: number
  } {
    return { states: this.#states ?? new Map(), effects: this.#effects ?? [], logDelta: this.#logDelta }
  }
}
