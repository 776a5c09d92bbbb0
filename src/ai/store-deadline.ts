/**
 * Bounds how long a generation waits for each of its appends, which it makes one at a time. One
 * timer per generation, armed on its first append and woken once per `timeoutMs`, instead of a
 * timer (and a race of promises) per append: the store answers in well under a millisecond,
 * and a generation appends once per token. Real time, whatever clock the run keeps.
 */
export class StoreDeadline {
  readonly #timeoutMs: number
  #timer: ReturnType<typeof setTimeout> | undefined
  #inFlight: { readonly since: number; readonly reject: (error: Error) => void } | undefined

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs
  }

  /** `append`'s outcome, or a rejection once it has gone `timeoutMs` without one. */
  within<T>(append: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const inFlight = { since: performance.now(), reject }
      this.#inFlight = inFlight
      this.#arm(this.#timeoutMs)
      const settled = (): void => {
        if (this.#inFlight === inFlight) this.#inFlight = undefined
      }
      append.then(
        (value) => {
          settled()
          resolve(value)
        },
        (error: unknown) => {
          settled()
          reject(error)
        },
      )
    })
  }

  /** Clears the timer (the generation has ended). */
  dispose(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #arm(ms: number): void {
    this.#timer ??= setTimeout(() => this.#check(), ms)
  }

  #check(): void {
    this.#timer = undefined
    const inFlight = this.#inFlight
    // Idle: the next append arms it again.
    if (inFlight === undefined) return
    const left = inFlight.since + this.#timeoutMs - performance.now()
    if (left > 0) {
      this.#arm(left)
      return
    }
    this.#inFlight = undefined
    inFlight.reject(new Error(`no answer within ${this.#timeoutMs} ms`))
  }
}
