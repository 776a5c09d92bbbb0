// A publisher as a careful app runs one: one update at a time, a 503 retried after its
// Retry-After, every answer counted. What it records is what the subscribers are checked against.
/** An update the hub acknowledged: 200, with its id as the body. */
export interface Ack {
  readonly id: string
  readonly data: string
}

/** Attempts per update before the test fails (each waits at most a couple of seconds). */
const MAX_ATTEMPTS = 60

/** The longest a Retry-After makes the publisher wait, ms. */
const MAX_RETRY_AFTER_MS = 2000

/** A publisher with a token; {@link Publisher.publish} resolves once an update was acknowledged. */
export class Publisher {
  /** Acknowledged updates, in the order of their acknowledgement (one publish at a time: log order). */
  readonly acked: Ack[] = []
  /** How many answers of each status, and `network` for a request that got none. */
  readonly answers = new Map<number | "network", number>()
  /**
   * The data of updates one of whose attempts failed without saying whether it was stored (a
   * 503 while Redis died mid-write, a dropped connection): the retry may make a second copy.
   */
  readonly unsure = new Set<string>()
  readonly #token: string

  constructor(token: string) {
    this.#token = token
  }

  /** How many answers had `status`. */
  count(status: number | "network"): number {
    return this.answers.get(status) ?? 0
  }

  /** Publishes `data` on `topic` at `hubUrl` until a 200; another status than 200 or 503 fails. */
  async publish(hubUrl: string, topic: string, data: string): Promise<Ack> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      let response: Response
      try {
        response = await fetch(hubUrl, {
          method: "POST",
          headers: { authorization: `Bearer ${this.#token}` },
          body: new URLSearchParams({ topic, data }),
          signal: AbortSignal.timeout(10_000),
        })
      } catch {
        this.#answered("network")
        this.unsure.add(data)
        await pause(200)
        continue
      }
      const body = await response.text()
      this.#answered(response.status)
      if (response.status === 200) {
        const ack = { id: body, data }
        this.acked.push(ack)
        return ack
      }
      if (response.status !== 503) throw new Error(`publish ${data}: ${response.status} ${body}`)
      this.unsure.add(data)
      const retryAfter = Number(response.headers.get("retry-after"))
      if (!Number.isFinite(retryAfter) || retryAfter <= 0) {
        throw new Error(`publish ${data}: a 503 without a usable Retry-After (${body})`)
      }
      await pause(Math.min(retryAfter * 1000, MAX_RETRY_AFTER_MS))
    }
    throw new Error(`publish ${data}: no 200 after ${MAX_ATTEMPTS} attempts`)
  }

  #answered(status: number | "network"): void {
    this.answers.set(status, this.count(status) + 1)
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
