import type { GenerationStats, GenerationStatus } from "./stored-entry.js"

/** A generation as an operator's dashboard lists it. */
export interface GenerationSummary {
  readonly id: string
  /** The model name the client asked for. */
  readonly model: string
  /**
   * `running`, or how it ended; `lost` when another node closed or took over its log (it died
   * here for a while, or its log was deleted).
   */
  readonly status: "running" | GenerationStatus | "lost"
  /** When the request arrived, in ms since the Unix epoch. */
  readonly startedAt: number
  /** What it measured: so far while it runs, final once it ended. */
  readonly stats: GenerationStats
}

/** The generations of this node: the running ones, and the last ones that ended here. */
export interface GenerationActivity {
  /** Oldest first. */
  readonly running: readonly GenerationSummary[]
  /** Newest first. */
  readonly recent: readonly GenerationSummary[]
}

/** The last `capacity` generations that ended on this node: a dashboard's memory, nothing more. */
export class RecentGenerations {
  readonly #capacity: number
  readonly #ended: GenerationSummary[] = []

  constructor(capacity: number) {
    this.#capacity = capacity
  }

  add(summary: GenerationSummary): void {
    this.#ended.unshift(summary)
    if (this.#ended.length > this.#capacity) this.#ended.pop()
  }

  /** Newest first. */
  list(): readonly GenerationSummary[] {
    return [...this.#ended]
  }
}
