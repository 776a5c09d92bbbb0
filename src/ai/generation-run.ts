import type { AppendResult, Engine, NewEntry } from "../engine/engine.js"
import type { Logger } from "../logger.js"
import { PendingEntries } from "./coalesce.js"
import { DisconnectGrace } from "./disconnect-grace.js"
import type { Entry } from "./entries.js"
import type { GenerationSummary } from "./generation-activity.js"
import type { Provider } from "./provider.js"
import type { TurnRecorder } from "./reasoning-memory.js"
import type { NormalizedRequest } from "./request.js"
import { RequestFieldError } from "./request-field-error.js"
import { settledWithin } from "./settled-within.js"
import { StatsRecorder } from "./stats-recorder.js"
import { StoreDeadline } from "./store-deadline.js"
import {
  type EndEntry,
  type EndError,
  type GenerationStatus,
  serializeEntry,
  UPSTREAM_REFUSED,
} from "./stored-entry.js"
import { UpstreamRequestError } from "./upstream-error.js"

/** How a node runs its generations. */
export interface RunSettings {
  readonly engine: Engine
  /** This node's id: the owner every append is fenced with. */
  readonly node: string
  /** How long token deltas wait to be merged before an append now, in ms; 0: none (a token that finds the store idle is appended at once). */
  readonly mergeWindowMs: () => number
  /** Past this many provider entries waiting for the store (before merging), the upstream is not read until they are stored. */
  readonly maxPendingEntries: number
  /** An append that takes longer counts as a failed store, in ms. */
  readonly storeTimeoutMs: number
  /** Whether generation `id` has had a viewer on another node (its mark); `false` when that cannot be read. */
  readonly watchedElsewhere: (id: string) => Promise<boolean>
  readonly logger: Logger
  readonly now: () => number
}

/** What happened before the first entry: the endpoint waits for it to choose its response head. */
export type StartOutcome =
  /** Entries are flowing: answer 200 and stream from the log. */
  | { readonly kind: "streaming" }
  /** The upstream refused (an HTTP error, no connection) or the request cannot be sent to it. */
  | { readonly kind: "refused"; readonly error: UpstreamRequestError | RequestFieldError }
  /** It ended before any entry (cancelled, the store failed): the log says how. */
  | { readonly kind: "ended" }

/** Why a run stops early, and what its terminal entry then says. */
type Stop =
  | { readonly status: "cancelled" | "interrupted"; readonly message: string; readonly at: number }
  /** The store failed: stop reading, try to record it. */
  | { readonly status: "failed"; readonly message: string; readonly at: number }
  /** Another node closed or took over the log, or it is gone: stop without writing. */
  | { readonly status: "lost"; readonly message: string; readonly at: number }

/**
 * One generation running on this node: it reads the provider's entries, merges the token deltas
 * that arrive while the previous append is in flight and appends them to the generation's log (fenced by this node's
 * ownership), then closes the log with the terminal entry. Clients never read the upstream
 * directly, only the log, so a token anyone has seen is stored before it was seen.
 *
 * The upstream is not read further when the store falls behind (more than `maxPendingEntries`
 * waiting), refuses an append (the log was closed or taken over by another node) or fails (an
 * error or `storeTimeoutMs`); a stop request (cancel, shutdown, the disconnect grace) aborts the
 * upstream request at once.
 */
export class GenerationRun {
  readonly id: string
  readonly log: string
  /** The model name the client asked for. */
  readonly model: string
  /** When the request arrived, in ms since the Unix epoch. */
  readonly startedAt: number
  /** Settles once the first entry came, or the upstream refused, or the run ended before either. */
  readonly started: Promise<StartOutcome>
  /** The terminal entry once written; `undefined` if the log was lost to another writer or the store. */
  readonly ended: Promise<EndEntry | undefined>
  #unstoredEnd: EndEntry | undefined

  /** The end the run came to but could not store (the store away): whoever closes the log later writes it. */
  get unstoredEnd(): EndEntry | undefined {
    return this.#unstoredEnd
  }

  readonly #settings: RunSettings
  readonly #abort = new AbortController()
  readonly #pending = new PendingEntries()
  readonly #stats: StatsRecorder
  readonly #grace: DisconnectGrace
  readonly #storeDeadline: StoreDeadline
  readonly #recorder: TurnRecorder | undefined
  /** The recorder's records took longer than an append may: they are not waited for again. */
  #recordsLate = false
  #resolveStarted!: (outcome: StartOutcome) => void
  #stop: Stop | undefined
  #flushQueued = false
  #appending: Promise<void> = Promise.resolve()
  /** Until the provider's entries end: a cancel after that changes nothing. */
  #reading = true
  /** When it last stored an append (or started), on `performance.now()`'s clock. */
  #storedAt = performance.now()

  constructor(
    spec: {
      readonly id: string
      readonly log: string
      readonly provider: Provider
      readonly request: NormalizedRequest
      readonly model: string
      readonly startedAt: number
      readonly graceMs: number
      /** Records the generation's tool calls for the reasoning memory; its records are stored before the terminal entry. */
      readonly recorder?: TurnRecorder
    },
    settings: RunSettings,
  ) {
    this.id = spec.id
    this.log = spec.log
    this.model = spec.model
    this.startedAt = spec.startedAt
    this.#settings = settings
    this.#stats = new StatsRecorder(spec.startedAt)
    this.#storeDeadline = new StoreDeadline(settings.storeTimeoutMs)
    this.#recorder = spec.recorder
    this.#grace = new DisconnectGrace(
      spec.graceMs,
      () => this.stop("cancelled", "every viewer left and none came back within the disconnect grace period"),
      () => settings.watchedElsewhere(spec.id),
    )
    this.started = new Promise((resolve) => {
      this.#resolveStarted = resolve
    })
    this.ended = this.#run(spec.provider, spec.request)
  }

  /** Whether it still reads the upstream. */
  get running(): boolean {
    return this.#reading && this.#stop === undefined
  }

  /** How long it has stored nothing while it still reads the upstream, in ms; 0 once it stopped. */
  quietMs(): number {
    return this.running ? performance.now() - this.#storedAt : 0
  }

  /** What a dashboard shows of it while it runs: its measures so far. */
  summary(): GenerationSummary {
    return {
      id: this.id,
      model: this.model,
      status: "running",
      startedAt: this.startedAt,
      stats: this.#stats.progress(this.#settings.now()),
    }
  }

  /** A viewer on this node (see {@link DisconnectGrace}); call the returned function when it leaves. */
  attachViewer(): () => void {
    return this.#grace.attach()
  }

  /** A viewer on another node: never stop for a disconnect from now on. */
  remoteViewer(): void {
    this.#grace.remoteViewer()
  }

  /** Stops the generation: aborts the upstream request, stores what came, ends with `status`. */
  stop(status: "cancelled" | "interrupted", message: string): void {
    this.#halt({ status, message, at: this.#settings.now() })
  }

  #halt(stop: Stop): void {
    if (this.#stop !== undefined) return
    if (!this.#reading && (stop.status === "cancelled" || stop.status === "interrupted")) return
    this.#stop = stop
    this.#abort.abort(new Error(stop.message))
  }

  async #run(provider: Provider, request: NormalizedRequest): Promise<EndEntry | undefined> {
    const { now } = this.#settings
    let status: GenerationStatus = "done"
    let error: EndError | undefined
    try {
      let first = true
      for await (const entry of provider.stream(request, this.#abort.signal)) {
        if (first) {
          first = false
          this.#resolveStarted({ kind: "streaming" })
        }
        this.#stats.observe(entry, now())
        this.#recorder?.observe(entry)
        // A client may send its next turn on seeing the finish (an OpenAI chunk's finish_reason):
        // the calls' records are stored first. They began with the calls, so this rarely waits.
        if (entry.type === "finish") await this.#recorded()
        if (entry.type === "error") status = "failed"
        this.#pending.add(entry)
        // Bounded: when the store lags this far behind, wait for it before reading on.
        if (this.#pending.added >= this.#settings.maxPendingEntries) await this.#flushNow()
        else this.#flushSoon()
        // Leaving the loop closes the upstream request.
        if (this.#stop !== undefined) break
      }
    } catch (thrown) {
      if (this.#stop === undefined) {
        status = "failed"
        if (thrown instanceof UpstreamRequestError || thrown instanceof RequestFieldError) {
          this.#resolveStarted({ kind: "refused", error: thrown })
          error = {
            message: thrown.message,
            type: thrown instanceof RequestFieldError ? "invalid_request" : UPSTREAM_REFUSED,
            ...(thrown instanceof UpstreamRequestError && thrown.status !== undefined
              ? { status: thrown.status }
              : {}),
          }
        } else {
          this.#settings.logger.error({ err: thrown, generation: this.id }, "a provider failed")
          error = { message: `the provider failed: ${(thrown as Error).message}`, type: "provider_failed" }
        }
      }
    }
    this.#reading = false
    const stopWhileReading = this.#stop
    if (stopWhileReading?.status === "cancelled") this.#stats.cancelled(now() - stopWhileReading.at)
    this.#resolveStarted({ kind: "ended" })
    this.#grace.dispose()
    // And what came after the finish (OpenRouter's last details) is recorded before the end; a
    // store that does not answer has the time an append has.
    await Promise.all([this.#flushNow(), this.#recorded()])
    // Read after the last flush: a store that failed on it dropped the answer's last entries,
    // so the end must not say `done`.
    const stop = this.#stop
    if (stop?.status === "lost") return undefined
    if (stop !== undefined) {
      status = stop.status
      error = { message: stop.message, type: stop.status === "failed" ? "store_failed" : stop.status }
    }
    const end: EndEntry = {
      type: "end",
      status,
      stats: this.#stats.finish(now()),
      ...(error === undefined ? {} : { error }),
    }
    // After a failed store this is one more bounded try: if it fails too, whoever notices the
    // open log of a node without a lease closes it as `interrupted`.
    const stored = await this.#append([{ data: serializeEntry(end) }], true)
    this.#storeDeadline.dispose()
    if (!stored) this.#unstoredEnd = end
    return stored ? end : undefined
  }

  /**
   * Settles once the recorder's records are stored or failed, or after `storeTimeoutMs`; once
   * they took that long, at once (a store that does not answer is not waited for twice).
   */
  async #recorded(): Promise<void> {
    if (this.#recorder === undefined || this.#recordsLate) return
    const stored = this.#recorder.settled().then(() => true)
    this.#recordsLate = (await settledWithin(stored, this.#settings.storeTimeoutMs)) === undefined
  }

  /**
   * Queues an append of what waits. It runs once the appends before it are stored and the merge
   * window has passed (see `mergeWindowMs`; none when 0), and takes every entry that came by then: a
   * token that finds the store idle is appended at once, and the tokens that arrive while an
   * append is in flight go in the next one.
   */
  #flushSoon(): void {
    if (this.#flushQueued) return
    this.#flushQueued = true
    const append = (): Promise<void> => {
      this.#flushQueued = false
      return this.#appendPending()
    }
    const windowMs = this.#settings.mergeWindowMs()
    const ready =
      windowMs > 0
        ? this.#appending.then(() => new Promise((resolve) => setTimeout(resolve, windowMs)))
        : this.#appending
    this.#appending = ready.then(append)
  }

  /** Appends what waits, after the appends before it; resolves once stored (or failed). */
  #flushNow(): Promise<void> {
    this.#appending = this.#appending.then(() => this.#appendPending())
    return this.#appending
  }

  async #appendPending(): Promise<void> {
    const entries = this.#pending.take()
    if (entries.length === 0) return
    if (this.#stop?.status === "lost" || this.#stop?.status === "failed") return
    await this.#append(entries.map(toNewEntry), false)
  }

  /** One fenced append; `true` once stored. A refusal or failure stops the run. */
  async #append(entries: readonly NewEntry[], close: boolean): Promise<boolean> {
    const { engine, node, logger, now } = this.#settings
    let result: AppendResult
    try {
      result = await this.#storeDeadline.within(
        engine.append(this.log, entries, { fence: { owner: node }, close }),
      )
    } catch (thrown) {
      logger.error({ err: thrown, generation: this.id }, "storing a generation's entries failed; stopping it")
      this.#halt({ status: "failed", message: `the store failed: ${(thrown as Error).message}`, at: now() })
      return false
    }
    if (result.status === "appended") {
      this.#storedAt = performance.now()
      if (result.stopRequested && !close) this.stop("cancelled", "the generation was cancelled")
      return true
    }
    const lost = result.status === "fenced" || result.status === "closed" || result.status === "missing"
    logger.warn(
      { generation: this.id, status: result.status },
      lost
        ? "a generation's log was closed, taken over or deleted elsewhere; stopping it here"
        : "a generation's append was refused; stopping it",
    )
    this.#halt({
      status: lost ? "lost" : "failed",
      message: `the store refused an append (${result.status})`,
      at: now(),
    })
    return false
  }
}

function toNewEntry(entry: Entry): NewEntry {
  return { data: serializeEntry(entry) }
}
