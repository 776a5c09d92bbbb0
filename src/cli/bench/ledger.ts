/** What one arriving update was to the subscriber that got it. */
export type DeliveryVerdict = "first" | "duplicate" | "misrouted"

/** The delivery counts of a run. */
export interface DeliveryTotals {
  /** One per acknowledged publish and subscriber of its topic. */
  readonly expected: number
  /** Expected deliveries that arrived (each counted once). */
  readonly received: number
  readonly missing: number
  /** Copies beyond the first of an update a subscriber already had. */
  readonly duplicated: number
}

/**
 * Which subscriber got which publish: one bit per (subscriber, publish on its topic), so every
 * delivery is counted exactly once, a second copy shows as a duplicate, and what never came
 * shows as missing — not guessed from totals. Publish `seq` goes to topic `seq % topics`;
 * subscriber `i` listens on topic `i % topics`.
 */
export class DeliveryLedger {
  private readonly seen: Uint8Array[]
  private readonly acknowledgedPerTopic: number[]
  private readonly failedSeqs: number[] = []
  private unique = 0
  private duplicates = 0

  /** A ledger for `subscribers` spread over `topics`, for publishes numbered 0 to `publishes - 1`. */
  constructor(
    readonly subscribers: number,
    readonly topics: number,
    readonly publishes: number,
  ) {
    const bytes = Math.ceil(Math.ceil(publishes / topics) / 8)
    this.seen = Array.from({ length: subscribers }, () => new Uint8Array(bytes))
    this.acknowledgedPerTopic = new Array<number>(topics).fill(0)
  }

  /** The topic (index) subscriber `subscriber` listens on. */
  topicOf(subscriber: number): number {
    return subscriber % this.topics
  }

  /** How many subscribers listen on topic `topic`. */
  subscribersOn(topic: number): number {
    return Math.floor(this.subscribers / this.topics) + (topic < this.subscribers % this.topics ? 1 : 0)
  }

  /** Records that subscriber `subscriber` received publish `seq`. */
  record(subscriber: number, seq: number): DeliveryVerdict {
    const bits = this.seen[subscriber]
    if (bits === undefined || !Number.isSafeInteger(seq) || seq < 0 || seq >= this.publishes)
      return "misrouted"
    if (seq % this.topics !== this.topicOf(subscriber)) return "misrouted"
    const slot = Math.floor(seq / this.topics)
    if (isSet(bits, slot)) {
      this.duplicates++
      return "duplicate"
    }
    bits[slot >> 3] = (bits[slot >> 3] ?? 0) | (1 << (slot & 7))
    this.unique++
    return "first"
  }

  /** The hub acknowledged publish `seq`: every subscriber of its topic must get it. */
  acknowledged(seq: number): void {
    const topic = seq % this.topics
    this.acknowledgedPerTopic[topic] = (this.acknowledgedPerTopic[topic] ?? 0) + 1
  }

  /** Publish `seq` failed: no one is owed it (a copy that arrives anyway is not counted). */
  failed(seq: number): void {
    this.failedSeqs.push(seq)
  }

  /**
   * Whether every expected delivery is in, cheaply (the drain polls it). A copy of a failed
   * publish that arrived anyway can make it true early; {@link totals} stays exact.
   */
  complete(): boolean {
    return this.unique >= this.expected()
  }

  /** The counts, exact: deliveries of failed publishes are taken out of `received`. */
  totals(): DeliveryTotals {
    let ofFailed = 0
    for (const seq of this.failedSeqs) {
      const slot = Math.floor(seq / this.topics)
      for (let subscriber = seq % this.topics; subscriber < this.subscribers; subscriber += this.topics) {
        if (isSet(this.seen[subscriber] as Uint8Array, slot)) ofFailed++
      }
    }
    const expected = this.expected()
    const received = this.unique - ofFailed
    return { expected, received, missing: expected - received, duplicated: this.duplicates }
  }

  private expected(): number {
    let expected = 0
    for (let topic = 0; topic < this.topics; topic++)
      expected += (this.acknowledgedPerTopic[topic] ?? 0) * this.subscribersOn(topic)
    return expected
  }
}

function isSet(bits: Uint8Array, slot: number): boolean {
  return ((bits[slot >> 3] ?? 0) & (1 << (slot & 7))) !== 0
}
