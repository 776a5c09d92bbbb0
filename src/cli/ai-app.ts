import { readFileSync } from "node:fs"
import type { Registry } from "prom-client"
import type { Generations } from "../ai/generations.js"
import { type AIHandler, createAIHandler } from "../ai/handler.js"
import { type ModelConfig, OPENAI_ONLY_SETTINGS } from "../ai/models.js"
import type { Engine } from "../engine/engine.js"
import type { Logger } from "../logger.js"
import type { Admission } from "../server/admission.js"
import { appAuth } from "./app-auth.js"
import { nearest } from "./config/suggest.js"
import type { HeraldConfig } from "./config.js"
import type { Mount } from "./router.js"

/** The AI endpoints as `herald serve` runs them. */
export interface ServedAI {
  readonly mount: Mount
  /** This node's generations, as the dashboard lists them. */
  readonly generations: Pick<Generations, "node" | "activity">
  /** The generations' metrics, for `/metrics`. */
  readonly metrics: Registry
  /** Lets running generations finish within the deadline and marks the rest interrupted. */
  close(options: { readonly deadlineMs: number }): Promise<void>
  /** Opens a generation's log for its read-only Durable Stream (cli/streams-mount.ts). */
  readonly openGenerationLog: AIHandler["openGenerationLog"]
}

/**
 * The AI endpoints of `herald serve`: the models of `--ai-models` (the demo model without it),
 * the same keys as publishers (`--jwt-key`, `--publisher-jwt-key`, `--jwks-url`) and the same
 * dev mode as the hub, on the engine every app shares (a generation is one log of it). Its
 * streams count against `admission`, the hub's (`--max-connections`, `--max-connections-per-address`),
 * and its bodies against the hub's `--body-idle-timeout`; pages of the origins `--cors-origins`
 * names may call it, as they may call the hub. Throws an `Error` saying what is wrong
 * with the models file.
 */
export function createServedAI(
  config: HeraldConfig,
  engine: Engine,
  logger: Logger,
  env: NodeJS.ProcessEnv,
  admission: Admission,
): ServedAI {
  const ai = createAIHandler({
    engine,
    // One identity per process: the lease serve holds is the one that fences its generations,
    // renewed for the same TTL (--node-lease), so a dead node's generations are taken over then.
    node: config.nodeId,
    leaseMs: config.nodeLeaseMs,
    ...(config.aiModels === undefined ? {} : { models: readModels(config.aiModels, env) }),
    auth: appAuth(config),
    // One CORS policy for every app: the origins --cors-origins names (none without it).
    cors: { origins: config.corsOrigins },
    heartbeatMs: config.heartbeatMs,
    admission,
    trustedProxies: config.trustedProxies,
    trustedProxyHeader: config.trustedProxyHeader,
    ...(config.limits.bodyIdleTimeoutMs === undefined
      ? {}
      : { bodyIdleTimeoutMs: config.limits.bodyIdleTimeoutMs }),
    ...config.aiLimits,
    logger,
  })
  return {
    mount: {
      serves:
        "AI generations at /v1/chat/completions, /v1/messages, /v1/ai-sdk/chat, /v1/models and /v1/generations/{id}",
      owns: ai.owns,
      handle: ai.handle,
    },
    generations: ai.generations,
    metrics: ai.metrics,
    close: (options) => ai.close(options),
    openGenerationLog: (id, request, url) => ai.openGenerationLog(id, request, url),
  }
}

/** The settings a model of each provider may have in an `--ai-models` file. */
const MODEL_KEYS = {
  openai: ["provider", "model", "baseURL", "apiKeyEnv", "headers", "idleTimeoutMs", ...OPENAI_ONLY_SETTINGS],
  anthropic: ["provider", "model", "baseURL", "apiKeyEnv", "headers", "idleTimeoutMs"],
  demo: ["provider", "timeToFirstTokenMs", "tokensPerSecond", "words", "toolCall", "failAfterTokens"],
} as const satisfies Record<ModelConfig["provider"], readonly string[]>

/**
 * The models of an `--ai-models` file: `{"name": {"provider": …, "baseURL"?, "model"?,
 * "apiKeyEnv"?, "headers"?, …}}` (see `MODEL_KEYS`); an unknown key is an error naming the nearest. Upstream keys come from the environment variable `apiKeyEnv`
 * names, so the file can be committed without secrets.
 */
function readModels(file: string, env: NodeJS.ProcessEnv): Record<string, ModelConfig> {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"))
  } catch (error) {
    throw new Error(`--ai-models ${file}: cannot read it as JSON: ${(error as Error).message}`)
  }
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    Array.isArray(parsed) ||
    Object.keys(parsed).length === 0
  ) {
    throw new Error(`--ai-models ${file}: expected an object of models by name, with at least one`)
  }
  const models: Record<string, ModelConfig> = {}
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== "object" || value === null)
      throw new Error(`--ai-models ${file}: "${name}" is not an object`)
    const { apiKeyEnv, ...model } = value as { apiKeyEnv?: unknown; provider?: unknown }
    const provider = String(model.provider)
    if (!Object.hasOwn(MODEL_KEYS, provider)) {
      throw new Error(`--ai-models ${file}: "${name}".provider must be "openai", "anthropic" or "demo"`)
    }
    // A misspelt key would be dropped without a word: a misspelt baseURL sends the prompts to the public API.
    const known: readonly string[] = MODEL_KEYS[provider as keyof typeof MODEL_KEYS]
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue
      const guess = nearest(key, known)
      throw new Error(
        `--ai-models ${file}: "${name}".${key} is not a setting of ${provider} models${guess === undefined ? "" : `; did you mean ${guess}?`} (settings: ${known.join(", ")})`,
      )
    }
    let apiKey: string | undefined
    if (apiKeyEnv !== undefined) {
      if (typeof apiKeyEnv !== "string" || apiKeyEnv === "")
        throw new Error(
          `--ai-models ${file}: "${name}".apiKeyEnv must name an environment variable, such as "OPENAI_API_KEY"; got ${JSON.stringify(apiKeyEnv)}`,
        )
      apiKey = env[apiKeyEnv]
      if (apiKey === undefined || apiKey === "") {
        throw new Error(
          `--ai-models ${file}: "${name}".apiKeyEnv names ${JSON.stringify(apiKeyEnv)}, which is not set`,
        )
      }
    }
    models[name] = { ...(model as ModelConfig), ...(apiKey === undefined ? {} : { apiKey }) } as ModelConfig
  }
  return models
}
