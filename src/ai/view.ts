import type { GenerationMeta } from "./generation-meta.js"
import type { StoredEntry } from "./stored-entry.js"

/** One SSE event of a view: its `event:` name (none for OpenAI) and its `data:`. */
export interface ViewEvent {
  readonly event?: string
  readonly data: string
}

/**
 * A wire format's rendering of a generation: entries in, events out, in log order. Deterministic:
 * the same entries give the same events, so a reader resuming mid-answer renders the entries it
 * already saw again (to rebuild the view's state: open blocks, indexes) and sends only what
 * follows its cursor. Views hold no I/O; the stream writer frames their events.
 */
export interface View {
  render(entry: StoredEntry): readonly ViewEvent[]
}

/** What a view knows of the generation it renders. */
export interface ViewContext {
  readonly id: string
  readonly meta: GenerationMeta
}

/** Makes a fresh view of one generation. */
export type ViewFactory = (context: ViewContext) => View
