import type { Engine } from "../engine/engine.js"
import type { Logger } from "../logger.js"
import type { SSE } from "../server/index.js"
import type { AIAuthenticator } from "./ai-auth.js"
import type { AIMetrics } from "./ai-metrics.js"
import type { Generations } from "./generations.js"
import type { IdempotencyKeys } from "./idempotency.js"
import type { JsonBodyLimits } from "./json-body.js"
import type { LatestGenerations } from "./latest-generations.js"
import type { Model } from "./models.js"
import type { OpenStreams } from "./open-streams.js"
import type { Prompts } from "./prompts.js"
import type { ReasoningMemory } from "./reasoning-memory.js"
import type { SubjectLimits } from "./subject-limits.js"

/** What every AI endpoint shares. */
export interface AIContext {
  readonly engine: Engine
  readonly generations: Generations
  readonly models: ReadonlyMap<string, Model>
  /** The model a request that names none gets (the AI SDK endpoint): the first configured. */
  readonly defaultModel: string
  /** The AI SDK chats' latest generations. */
  readonly chats: LatestGenerations
  /** The `Idempotency-Key`s of create requests. */
  readonly idempotency: IdempotencyKeys
  readonly metrics: AIMetrics
  /** Concurrency and rate per subject. */
  readonly limits: SubjectLimits
  /** The most output tokens a request may ask for. */
  readonly maxOutputTokens: number
  /** The most messages a request may send. */
  readonly maxMessages: number
  /** The most content parts all of a request's messages may have together. */
  readonly maxContentParts: number
  /** Where prompts are kept (or not). */
  readonly prompts: Prompts
  /** Which generation made each tool call, to give a bare tool turn its reasoning back (or nothing). */
  readonly reasoning: ReasoningMemory
  readonly auth: AIAuthenticator
  readonly sse: SSE
  /** The generation streams open on this node, interrupted at shutdown. */
  readonly streams: OpenStreams
  /** How long a new generation's response head waits for the upstream's first answer, in ms. */
  readonly headWaitMs: number
  /** What a request body may be: its size, its pauses, its depth. */
  readonly bodyLimits: JsonBodyLimits
  /** How long a cancel request waits for the generation to end before answering, in ms. */
  readonly cancelWaitMs: number
  readonly logger: Logger
  readonly now: () => number
}
