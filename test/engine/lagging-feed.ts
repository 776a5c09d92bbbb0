// An engine whose live feed misbehaves the way a real one may (Redis pub/sub after a reconnect, a
// slow subscriber connection): batches come late, in bursts, sometimes twice, sometimes not at
// all — announced with onLost, or silently so that only a later batch reveals the hole. Storage
// is the wrapped engine's, untouched. `follow` must still deliver every entry exactly once.
import type {
  AppendOptions,
  Engine,
  Entry,
  FeedSink,
  LogConfig,
  NewEntry,
  Signal,
  StopOptions,
} from "../../src/engine/engine.js"
import type { Position } from "../../src/engine/position.js"

/** How often each fault happens, as shares of the batches (the rest are delivered at once). */
export interface LagProfile {
  readonly late: number
  readonly duplicated: number
  readonly droppedWithLost: number
  readonly droppedSilently: number
}

/** The default mix: most batches misbehave one way or another. */
export const ROUGH_FEED: LagProfile = {
  late: 0.3,
  duplicated: 0.15,
  droppedWithLost: 0.1,
  droppedSilently: 0.1,
}

/** A feed that delivers every batch at once, in order (for scripted tests using {@link LaggingFeed.inject}). */
export const FAITHFUL_FEED: LagProfile = { late: 0, duplicated: 0, droppedWithLost: 0, droppedSilently: 0 }

/** A deterministic pseudo-random sequence in [0, 1) (tests must be repeatable from their seed). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

/** One sink as the wrapper sees it: what it holds back, and whether it silently lost something. */
interface LaggingSink {
  readonly log: string
  readonly sink: FeedSink
  /** Late deliveries, in order: a batch, or a lost notice. */
  readonly late: ({ entries: readonly Entry[]; closed: boolean } | "lost")[]
  /** A batch was dropped without a word since the last settle(). */
  silentlyDropped: boolean
  flushTimer: NodeJS.Timeout | undefined
  stopped: boolean
}

/** Wraps `inner`: everything goes to it, except that its live feed lags (see the file comment). */
export class LaggingFeed implements Engine {
  readonly #inner: Engine
  readonly #random: () => number
  readonly #profile: LagProfile
  readonly #sinks = new Set<LaggingSink>()
  /** Batches each fault hit, for tests to check that the faults really happened. */
  readonly faults = { late: 0, duplicated: 0, droppedWithLost: 0, droppedSilently: 0 }

  constructor(inner: Engine, seed: number, profile: LagProfile = ROUGH_FEED) {
    this.#inner = inner
    this.#random = seededRandom(seed)
    this.#profile = profile
  }

  get name(): string {
    return this.#inner.name
  }

  async watch(log: string, sink: FeedSink): Promise<() => void> {
    const lagging: LaggingSink = {
      log,
      sink,
      late: [],
      silentlyDropped: false,
      flushTimer: undefined,
      stopped: false,
    }
    const unwatch = await this.#inner.watch(log, {
      onAppend: (entries, closed) => this.#onAppend(lagging, entries, closed),
      onLost: () => this.#later(lagging, "lost"),
    })
    this.#sinks.add(lagging)
    return () => {
      lagging.stopped = true
      clearTimeout(lagging.flushTimer)
      this.#sinks.delete(lagging)
      unwatch()
    }
  }

  /** Hands `entries` to every sink of `log` now, as a feed repeating an old batch would. */
  inject(log: string, entries: readonly Entry[], closed = false): void {
    for (const lagging of [...this.#sinks]) {
      if (lagging.log === log && !lagging.stopped) lagging.sink.onAppend(entries, closed)
    }
  }

  /**
   * Ends the misbehaviour for now: delivers every late batch, then tells each sink that dropped a
   * batch silently that it lost something (what a periodic "what is the tail?" probe does).
   */
  settle(): void {
    for (const lagging of [...this.#sinks]) {
      this.#flush(lagging)
      if (lagging.silentlyDropped && !lagging.stopped) {
        lagging.silentlyDropped = false
        lagging.sink.onLost()
      }
    }
  }

  #onAppend(lagging: LaggingSink, entries: readonly Entry[], closed: boolean): void {
    const { late, duplicated, droppedWithLost, droppedSilently } = this.#profile
    const roll = this.#random()
    if (roll < late) {
      this.faults.late++
      this.#later(lagging, { entries, closed })
    } else if (roll < late + duplicated) {
      this.faults.duplicated++
      this.#now(lagging, { entries, closed })
      this.#later(lagging, { entries, closed })
    } else if (roll < late + duplicated + droppedWithLost) {
      this.faults.droppedWithLost++
      this.#later(lagging, "lost")
    } else if (roll < late + duplicated + droppedWithLost + droppedSilently) {
      this.faults.droppedSilently++
      lagging.silentlyDropped = true
    } else {
      this.#now(lagging, { entries, closed })
    }
  }

  /** Delivers at once, unless earlier batches are still late (a feed keeps its order). */
  #now(lagging: LaggingSink, delivery: { entries: readonly Entry[]; closed: boolean }): void {
    if (lagging.late.length > 0) this.#later(lagging, delivery)
    else if (!lagging.stopped) lagging.sink.onAppend(delivery.entries, delivery.closed)
  }

  /** Queues a delivery; the queue goes out in one burst a few milliseconds later. */
  #later(lagging: LaggingSink, delivery: LaggingSink["late"][number]): void {
    lagging.late.push(delivery)
    if (lagging.flushTimer !== undefined || lagging.stopped) return
    lagging.flushTimer = setTimeout(() => this.#flush(lagging), Math.floor(this.#random() * 4))
  }

  #flush(lagging: LaggingSink): void {
    clearTimeout(lagging.flushTimer)
    lagging.flushTimer = undefined
    // Bounded: what a sink's reaction queues meanwhile stays behind, for the next flush.
    for (let count = lagging.late.length; count > 0 && !lagging.stopped; count--) {
      const delivery = lagging.late.shift() as LaggingSink["late"][number]
      if (delivery === "lost") lagging.sink.onLost()
      else lagging.sink.onAppend(delivery.entries, delivery.closed)
    }
  }

  create(log: string, config?: LogConfig) {
    return this.#inner.create(log, config)
  }
  head(log: string) {
    return this.#inner.head(log)
  }
  delete(log: string) {
    return this.#inner.delete(log)
  }
  list(options: { readonly prefix?: string; readonly after?: string; readonly limit: number }) {
    return this.#inner.list(options)
  }
  append(log: string, entries: readonly NewEntry[], options?: AppendOptions) {
    return this.#inner.append(log, entries, options)
  }
  read(log: string, after: Position, limit: number) {
    return this.#inner.read(log, after, limit)
  }
  locate(log: string, key: string) {
    return this.#inner.locate(log, key)
  }
  requestStop(log: string, options?: StopOptions) {
    return this.#inner.requestStop(log, options)
  }
  signal(signal: Signal) {
    return this.#inner.signal(signal)
  }
  onSignal(handler: (signal: Signal) => void) {
    return this.#inner.onSignal(handler)
  }
  holdLease(node: string, ttlMs: number) {
    return this.#inner.holdLease(node, ttlMs)
  }
  releaseLease(node: string) {
    return this.#inner.releaseLease(node)
  }
  liveNodes() {
    return this.#inner.liveNodes()
  }
  close() {
    for (const lagging of this.#sinks) clearTimeout(lagging.flushTimer)
    return this.#inner.close()
  }
}
