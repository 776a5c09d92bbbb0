import { randomUUID } from "node:crypto"
import { setTimeout as sleep } from "node:timers/promises"
import type { TokenSource } from "../http-errors.js"
import { subscriptionRequest } from "../listen.js"
import { type ErrorCount, ErrorTally } from "./error-tally.js"
import { LatencyHistogram } from "./histogram.js"
import { DeliveryLedger, type DeliveryTotals } from "./ledger.js"
import { HubPublisher } from "./publisher.js"
import { atSteadyRate } from "./steady-rate.js"
import { BenchSubscriber } from "./subscriber.js"
import { Timeline, type TimelineSecond } from "./timeline.js"

/** What to run: N subscribers over K topics, R publishes a second for a duration. */
export interface BenchSettings {
  /** The hub URL (no query): subscribers GET it, the publisher POSTs to it. */
  readonly hubUrl: URL
  readonly publisherToken: string | undefined
  /** Where the token came from, for a refusal's message. */
  readonly publisherTokenSource: TokenSource | undefined
  readonly subscriberToken: string | undefined
  readonly subscriberTokenSource: TokenSource | undefined
  readonly subscribers: number
  readonly topics: number
  /** Publishes a second, spread evenly over the topics (round robin). */
  readonly rate: number
  readonly durationMs: number
  /** Publishing before the measured run, whose deliveries are not counted (JIT, pools, caches). */
  readonly warmupMs: number
  /** Longest wait after the last publish for the deliveries still on their way. */
  readonly drainMs: number
  /** Subscriptions being opened at once. */
  readonly connectConcurrency: number
}

/** The phases of a run, in order. */
export type Phase = "connecting" | "warmup" | "running" | "draining"

/** Where a run is, for a progress display. */
export interface ProgressSnapshot {
  readonly phase: Phase
  /** Subscriptions attempted while connecting; ms elapsed in the other phases. */
  readonly done: number
  /** Subscribers while connecting; the phase's length in ms (the drain's longest) otherwise. */
  readonly total: number
  readonly connected: number
  /** Measured deliveries so far, each counted once. */
  readonly deliveries: number
  readonly errors: number
}

/** What a run measured. */
export interface BenchResult {
  readonly settings: BenchSettings
  readonly topics: readonly string[]
  /** Subscribers whose stream was open when publishing began. */
  readonly connected: number
  readonly reconnects: number
  readonly publishes: { planned: number; sent: number; acknowledged: number; failed: number }
  readonly deliveries: DeliveryTotals
  /** From the first measured publish to the last delivery: the span deliveries/s is counted over. */
  readonly measuredMs: number
  readonly latency: LatencyHistogram
  readonly timeline: TimelineSecond[]
  readonly errors: [string, ErrorCount][]
}

/** How often progress is reported (and the drain checks whether everything is in). */
const TICK_MS = 100

/** A wall-clock time in ms with sub-ms precision: the publisher and subscribers share the process. */
const clock = () => performance.timeOrigin + performance.now()

/**
 * Runs a bench against a Mercure hub: opens the subscriptions, publishes through the warmup and
 * the measured duration at a steady rate, waits for the deliveries still on their way (at most
 * `drainMs`), then closes every socket. Each update carries its publish time, so every delivery
 * gives a publish→receive latency; each topic is unique to the run, so nothing else is counted.
 */
export async function runBench(
  settings: BenchSettings,
  onProgress: (snapshot: ProgressSnapshot) => void = () => {},
): Promise<BenchResult> {
  const runId = randomUUID()
  const topics = Array.from({ length: settings.topics }, (_, index) => `urn:herald:bench:${runId}:${index}`)
  const planned = Math.ceil((settings.rate * settings.durationMs) / 1000)
  const ledger = new DeliveryLedger(settings.subscribers, settings.topics, planned)
  const latency = new LatencyHistogram()
  const timeline = new Timeline()
  const errors = new ErrorTally()
  const publishes = { planned, sent: 0, acknowledged: 0, failed: 0 }
  let measuredFrom = Number.POSITIVE_INFINITY
  let lastDeliveryAt = Number.NaN
  let received = 0

  const deliver = (subscriber: number, data: string) => {
    const receivedAt = clock()
    let update: { bench?: unknown; seq?: unknown; sentAt?: unknown }
    try {
      update = JSON.parse(data) as typeof update
    } catch {
      errors.add("event: not a bench update", data.slice(0, 200))
      return
    }
    if (update.bench !== runId) return errors.add("event: not from this run", data.slice(0, 200))
    // Warmup updates carry no seq: they are not counted.
    if (update.seq === undefined) return
    const verdict = ledger.record(subscriber, Number(update.seq))
    if (verdict === "misrouted")
      return errors.add("event: not for this subscriber's topic", data.slice(0, 200))
    if (verdict === "duplicate") return
    const latencyMs = receivedAt - Number(update.sentAt)
    latency.record(latencyMs)
    timeline.record(receivedAt - measuredFrom, latencyMs)
    lastDeliveryAt = receivedAt
    received++
  }

  const subscribers = Array.from({ length: settings.subscribers }, (_, index) => {
    const url = subscriptionRequest(
      settings.hubUrl.href,
      [topics[ledger.topicOf(index)] as string],
      false,
    ).url
    return new BenchSubscriber({
      url: new URL(url),
      token: settings.subscriberToken,
      tokenSource: settings.subscriberTokenSource,
      errors,
      onData: (data) => deliver(index, data),
    })
  })
  const stopPublishing = new AbortController()
  const publisher = new HubPublisher({
    hubUrl: settings.hubUrl,
    token: settings.publisherToken,
    tokenSource: settings.publisherTokenSource,
    signal: stopPublishing.signal,
  })

  let phase: Phase = "connecting"
  let phaseStarted = performance.now()
  let phaseTotal = settings.subscribers
  let attempted = 0
  let failedToConnect = 0
  const connectedCount = () => subscribers.filter((subscriber) => subscriber.connected).length
  const report = () =>
    onProgress({
      phase,
      done: phase === "connecting" ? attempted : Math.min(performance.now() - phaseStarted, phaseTotal),
      total: phaseTotal,
      connected: connectedCount(),
      deliveries: received,
      errors: errors.total,
    })
  const enter = (next: Phase, totalMs: number) => {
    phase = next
    phaseStarted = performance.now()
    phaseTotal = totalMs
    report()
  }
  const ticker = setInterval(report, TICK_MS)

  try {
    report()
    // A hub that refused or ignored a whole first round of subscriptions would refuse them all:
    // stop there rather than wait out every timeout.
    const hopeless = () => failedToConnect >= settings.connectConcurrency && attempted === failedToConnect
    let next = 0
    await Promise.all(
      Array.from({ length: Math.min(settings.connectConcurrency, settings.subscribers) }, async () => {
        while (next < subscribers.length && !hopeless()) {
          const subscriber = subscribers[next++] as BenchSubscriber
          if (!(await subscriber.start())) failedToConnect++
          attempted++
        }
      }),
    )
    const connected = connectedCount()

    if (connected > 0) {
      const publish = (topic: number, update: Record<string, unknown>) =>
        publisher.publish(
          topics[topic] as string,
          JSON.stringify({ bench: runId, ...update, sentAt: clock() }),
        )
      if (settings.warmupMs > 0) {
        enter("warmup", settings.warmupMs)
        const count = Math.ceil((settings.rate * settings.warmupMs) / 1000)
        await atSteadyRate(count, settings.rate, stopPublishing.signal, (index) => {
          void publish(index % settings.topics, { warmup: index }).then((failure) => {
            if (failure !== undefined) errors.add(failure.kind, failure.message)
          })
        })
      }
      enter("running", settings.durationMs)
      measuredFrom = clock()
      await atSteadyRate(planned, settings.rate, stopPublishing.signal, (seq) => {
        publishes.sent++
        void publish(seq % settings.topics, { seq }).then((failure) => {
          if (failure === undefined) {
            publishes.acknowledged++
            ledger.acknowledged(seq)
          } else {
            publishes.failed++
            ledger.failed(seq)
            errors.add(failure.kind, failure.message)
          }
        })
      })
      enter("draining", settings.drainMs)
      const drainUntil = performance.now() + settings.drainMs
      while (performance.now() < drainUntil && (publisher.inFlight > 0 || !ledger.complete()))
        await sleep(TICK_MS / 5)
    }
    // Publishes the hub has not answered by now fail as aborted; the counts settle with them.
    stopPublishing.abort(new Error("no answer before the end of the drain"))
    await publisher.settled()
    return {
      settings,
      topics,
      connected,
      reconnects: subscribers.reduce((sum, subscriber) => sum + subscriber.reconnects, 0),
      publishes,
      deliveries: ledger.totals(),
      measuredMs: Number.isNaN(lastDeliveryAt) ? 0 : lastDeliveryAt - measuredFrom,
      latency,
      timeline: timeline.series(),
      errors: errors.entries(),
    }
  } finally {
    clearInterval(ticker)
    for (const subscriber of subscribers) subscriber.close()
    publisher.close()
  }
}
