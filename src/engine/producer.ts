/**
 * Idempotent producers (Durable Streams' `Producer-Id`, `Producer-Epoch`, `Producer-Seq`; Kafka's
 * idea): a writer numbers its appends so a retry is recognised as a duplicate, and a newer
 * incarnation of the writer (a higher epoch) fences the older one off. The check is pure: an
 * engine runs it inside the same atomic step as the write and stores the proposed state only if
 * the write happens.
 */

/** What an append says about its writer. */
export interface ProducerFence {
  /** The writer's stable identity. */
  readonly id: string
  /** Its incarnation: a restarted writer bumps it, which fences off the older one. */
  readonly epoch: number
  /** This append's number within the epoch: 0, 1, 2, … */
  readonly seq: number
}

/** A writer's last accepted append, as an engine stores it per log. */
export interface ProducerState {
  readonly epoch: number
  readonly seq: number
}

/** What the fence says of an append. */
export type ProducerCheck =
  /** Write it, then store `next` as the producer's state. */
  | { readonly status: "accepted"; readonly next: ProducerState }
  /** Already written (a retry): answer success without writing. */
  | { readonly status: "duplicate"; readonly lastSeq: number }
  /** A newer incarnation of this writer exists. */
  | { readonly status: "stale-epoch"; readonly currentEpoch: number }
  /** A new epoch must start at seq 0. */
  | { readonly status: "invalid-epoch-seq" }
  /** An append between the last one and this one is missing. */
  | { readonly status: "sequence-gap"; readonly expectedSeq: number; readonly receivedSeq: number }

/** Checks `fence` against the producer's stored state (`undefined`: never seen). */
export function checkProducer(state: ProducerState | undefined, fence: ProducerFence): ProducerCheck {
  const { epoch, seq } = fence
  if (state === undefined || epoch > state.epoch) {
    if (seq === 0) return { status: "accepted", next: { epoch, seq } }
    return state === undefined
      ? { status: "sequence-gap", expectedSeq: 0, receivedSeq: seq }
      : { status: "invalid-epoch-seq" }
  }
  if (epoch < state.epoch) return { status: "stale-epoch", currentEpoch: state.epoch }
  if (seq <= state.seq) return { status: "duplicate", lastSeq: state.seq }
  if (seq === state.seq + 1) return { status: "accepted", next: { epoch, seq } }
  return { status: "sequence-gap", expectedSeq: state.seq + 1, receivedSeq: seq }
}

/** Rejects a fence that is not three well-formed fields, naming the field. */
export function assertProducerFence(fence: ProducerFence): void {
  if (typeof fence.id !== "string" || fence.id === "") {
    throw new TypeError("A producer fence needs `id`: a non-empty string.")
  }
  for (const field of ["epoch", "seq"] as const) {
    const value = fence[field]
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(
        `A producer fence's \`${field}\` must be a non-negative integer; got ${String(value)}.`,
      )
    }
  }
}
