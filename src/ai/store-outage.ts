import type { Engine } from "../engine/engine.js"
import { type HealthCapability, hasHealth } from "../engine/health.js"

/**
 * Tells when the store has not answered for `boundMs`, probing the engine's health while
 * started. A follower waiting on the live feed of a store out of reach (a frozen or partitioned
 * Redis) hears neither an entry nor an error, so a generation's stream would wait, silent but for
 * heartbeats, until the store answers again: this is what ends it meanwhile. Each outage is told
 * once; an engine that cannot probe its health has none.
 */
export class StoreOutage {
  readonly #engine: (Engine & HealthCapability) | undefined
  readonly #boundMs: number
  readonly #onOutage: () => void
  #timer: ReturnType<typeof setInterval> | undefined
  readonly #tickMs: number
  /** When the last tick ran, on `performance.now()`'s clock. */
  #tickedAt = 0
  /** The probe in flight: when it was sent, on `performance.now()`'s clock. */
  #probe: { readonly sentAt: number } | undefined
  /** When the first probe of an outage was sent: the store has not answered since. */
  #downSince: number | undefined

  constructor(engine: Engine, boundMs: number, onOutage: () => void) {
    this.#engine = hasHealth(engine) ? engine : undefined
    this.#boundMs = boundMs
    this.#onOutage = onOutage
    this.#tickMs = Math.min(PROBE_MS, Math.ceil(boundMs / 2))
  }

  /** Starts probing (idempotent). */
  start(): void {
    if (this.#engine === undefined || this.#timer !== undefined) return
    this.#tickedAt = performance.now()
    this.#timer = setInterval(() => this.#tick(), this.#tickMs)
    this.#timer.unref()
  }

  /** Stops probing and forgets what it found. */
  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#forget()
  }

  /** What a probe in flight answers is not heard: it is older than what comes next. */
  #forget(): void {
    this.#probe = undefined
    this.#downSince = undefined
  }

  #tick(): void {
    const now = performance.now()
    const late = now - this.#tickedAt > 2 * this.#tickMs
    this.#tickedAt = now
    // After a stall of this process, timers run before the answers that waited meanwhile are
    // read: a late tick judges nothing, and the next one finds the probe's answer heard.
    if (late) return
    // A probe that does not come back counts as the store's silence too.
    const silentSince = this.#downSince ?? this.#probe?.sentAt
    if (silentSince !== undefined && now - silentSince >= this.#boundMs) {
      this.#forget()
      this.#onOutage()
      return
    }
    if (this.#probe !== undefined) return
    const probe = { sentAt: now }
    this.#probe = probe
    void (this.#engine as Engine & HealthCapability).health().then((health) => {
      if (this.#probe !== probe) return
      this.#probe = undefined
      if (health.status === "down") this.#downSince ??= probe.sentAt
      else this.#downSince = undefined
    })
  }
}

/** How often, at most, the store is probed while streams are open, in ms. */
const PROBE_MS = 1_000
