import { Counter, Gauge, Histogram, Registry } from "prom-client"
import type { RestoreOutcome } from "./reasoning-memory.js"
import { type EndEntry, type GenerationStats, UPSTREAM_REFUSED } from "./stored-entry.js"

/** What a node's generations tell whoever watches them (the metrics). */
export interface GenerationObserver {
  /** A generation of `model` started on this node. */
  started(model: string): void
  /**
   * A generation that ran on this node ended: its terminal entry, or `undefined` when another
   * node closed it, took it over, or the store failed it for good; then `measured` is what this
   * node measured of it (its output was made for this node's request all the same).
   */
  ended(model: string, end: EndEntry | undefined, measured?: GenerationStats): void
  /** This node closed a dead node's generation of `model` as `interrupted`. */
  reaped(model: string): void
}

/** The AI endpoints' Prometheus metrics, on a registry of their own, and the observer that feeds them. */
export interface AIMetrics extends GenerationObserver {
  readonly registry: Registry
  /**
   * A request refused: a create by a limit (`concurrency_limit_exceeded`, `rate_limit_exceeded`,
   * `max_tokens`), or any request by the engine (`engine_unavailable`, `engine_max_logs`, `engine_full`).
   */
  refused(reason: string): void
  /** What came of a tool turn sent back without its reasoning (reasoning-memory.ts). */
  restored(outcome: RestoreOutcome): void
}

/** The metrics of one AI handler. Labels are the configured model names (a bounded set) and statuses. */
export function createAIMetrics(): AIMetrics {
  const registry = new Registry()
  let running = 0
  new Gauge({
    name: "herald_ai_generations_running",
    help: "AI generations running on this node.",
    registers: [registry],
    collect() {
      this.set(running)
    },
  })
  const started = new Counter({
    name: "herald_ai_generations_started_total",
    help: "AI generations started on this node, by model.",
    labelNames: ["model"],
    registers: [registry],
  })
  const ended = new Counter({
    name: "herald_ai_generations_ended_total",
    help: "AI generations ended, by model and status (done, cancelled, failed, interrupted; lost: closed or taken over by another node).",
    labelNames: ["model", "status"],
    registers: [registry],
  })
  const firstToken = new Histogram({
    name: "herald_ai_time_to_first_token_seconds",
    help: "From a generation's request to its first output (text, reasoning or a tool call), by model.",
    labelNames: ["model"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  })
  const rate = new Histogram({
    name: "herald_ai_tokens_per_second",
    help: "Output tokens per second between a generation's first and last output, by model.",
    labelNames: ["model"],
    buckets: [5, 10, 20, 40, 80, 160, 320, 640, 1280],
    registers: [registry],
  })
  const outputTokens = new Counter({
    name: "herald_ai_output_tokens_total",
    help: "Output tokens of ended generations (the provider's count, else one per delta), by model.",
    labelNames: ["model"],
    registers: [registry],
  })
  const inputTokens = new Counter({
    name: "herald_ai_input_tokens_total",
    help: "Input (prompt) tokens of ended generations, as the provider counted them (cache reads and writes included), by model.",
    labelNames: ["model"],
    registers: [registry],
  })
  const upstreamRefusals = new Counter({
    name: "herald_ai_upstream_refusals_total",
    help: "Generations the upstream refused before streaming, by model and the upstream's HTTP status (401 or 403: it refuses Herald's key; 429: its rate limit; 5xx: its own failure; 2xx: an answer that is not an event stream), or unreachable (no answer: connection refused, DNS, TLS).",
    labelNames: ["model", "status"],
    registers: [registry],
  })
  const cancelLatency = new Histogram({
    name: "herald_ai_cancel_latency_seconds",
    help: "From the moment the node running a generation learnt of its cancel to the upstream request's abort.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  })
  const refusals = new Counter({
    name: "herald_ai_requests_refused_total",
    help: "AI requests refused, by reason: a create by a limit (concurrency_limit_exceeded, rate_limit_exceeded, max_tokens), or any request by the engine (engine_unavailable: its store out of reach, a 503; engine_max_logs: at its maximum of logs, a 503; engine_full: its storage full, a 507).",
    labelNames: ["reason"],
    registers: [registry],
  })
  const restores = new Counter({
    name: "herald_ai_bare_tool_turns_total",
    help: "Tool turns sent back without the reasoning their model needs, by what the reasoning memory did: restored, unknown (no record, or the generation is gone), other (not the calls that generation made), failed.",
    labelNames: ["outcome"],
    registers: [registry],
  })
  return {
    registry,
    started(model) {
      running++
      started.inc({ model })
    },
    ended(model, end, measured) {
      running--
      ended.inc({ model, status: end?.status ?? "lost" })
      const usage = end?.stats.usage ?? measured?.usage
      if (usage?.inputTokens !== undefined) inputTokens.inc({ model }, usage.inputTokens)
      if (end === undefined) {
        if (usage?.outputTokens !== undefined) outputTokens.inc({ model }, usage.outputTokens)
        return
      }
      if (end.error?.type === UPSTREAM_REFUSED)
        upstreamRefusals.inc({ model, status: String(end.error.status ?? "unreachable") })
      const { stats } = end
      if (stats.timeToFirstTokenMs !== undefined)
        firstToken.observe({ model }, stats.timeToFirstTokenMs / 1000)
      if (stats.tokensPerSecond !== undefined) rate.observe({ model }, stats.tokensPerSecond)
      if (stats.usage.outputTokens !== undefined) outputTokens.inc({ model }, stats.usage.outputTokens)
      if (stats.cancelLatencyMs !== undefined) cancelLatency.observe(stats.cancelLatencyMs / 1000)
    },
    reaped(model) {
      ended.inc({ model, status: "interrupted" })
    },
    refused(reason) {
      refusals.inc({ reason })
    },
    restored(outcome) {
      restores.inc({ outcome })
    },
  }
}
