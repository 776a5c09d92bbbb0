import { anthropicProvider } from "./anthropic.js"
import { type DemoProviderOptions, demoProvider } from "./demo.js"
import { type OpenAIProviderOptions, openaiProvider } from "./openai.js"
import type { Provider } from "./provider.js"
import { upstreamURL } from "./sse-over-http.js"
import type { MaxTokensField } from "./to-openai-request.js"

/**
 * One model clients may ask for, by the name they use. Upstream keys stay on the server: clients
 * never see them, and authenticate with Herald's own tokens.
 */
export type ModelConfig =
  | {
      readonly provider: "openai" | "anthropic"
      /** The upstream's model name. Default: the configured name. */
      readonly model?: string
      /** Up to and including `/v1`. Default: the provider's public API. */
      readonly baseURL?: string
      readonly apiKey?: string
      readonly headers?: Readonly<Record<string, string>>
      /** How long the upstream may send nothing before its connection is closed, in ms. Default 300 000 (5 minutes). */
      readonly idleTimeoutMs?: number
      /** openai only: the field the most output tokens go in (see {@link OpenAIProviderOptions.maxTokensField}). */
      readonly maxTokensField?: MaxTokensField
      /** openai only: whether to ask for the usage chunk (see {@link OpenAIProviderOptions.streamUsage}). */
      readonly streamUsage?: boolean
      /** openai only: whether tool calls carry Gemini's thought signatures (see {@link OpenAIProviderOptions.thoughtSignatures}). */
      readonly thoughtSignatures?: boolean
      /** openai only: whether a turn's tool calls carry its reasoning (see {@link OpenAIProviderOptions.reasoningWithToolCalls}). */
      readonly reasoningWithToolCalls?: boolean
      /** openai only: whether a turn carries OpenRouter's reasoning details back (see {@link OpenAIProviderOptions.reasoningDetails}). */
      readonly reasoningDetails?: boolean
      /** openai only: whether `top_k` goes to the server (see {@link OpenAIProviderOptions.topK}). */
      readonly topK?: boolean
    }
  | ({ readonly provider: "demo" } & DemoProviderOptions)

/** A configured model, ready to stream. */
export interface Model {
  readonly name: string
  readonly provider: Provider
  /** The name the upstream knows it by. */
  readonly upstreamModel: string
}

/** The model served when none is configured: the offline demo (`npm start` answers with it). */
export const DEFAULT_MODELS: Readonly<Record<string, ModelConfig>> = { demo: { provider: "demo" } }

/** The settings only an openai model has: each tunes what is sent to a compatible server. */
export const OPENAI_ONLY_SETTINGS = [
  "maxTokensField",
  "streamUsage",
  "thoughtSignatures",
  "reasoningWithToolCalls",
  "reasoningDetails",
  "topK",
] as const

const PUBLIC_BASE_URL = { openai: "https://api.openai.com/v1", anthropic: "https://api.anthropic.com/v1" }

/** The models of a configuration, by name. Throws a `TypeError` naming a model whose provider is unknown. */
export function createModels(
  config: Readonly<Record<string, ModelConfig>> = DEFAULT_MODELS,
): ReadonlyMap<string, Model> {
  const models = new Map<string, Model>()
  for (const [name, model] of Object.entries(config)) {
    let provider: Provider
    try {
      provider = providerOf(model)
    } catch (error) {
      throw new TypeError(`model "${name}": ${(error as Error).message}`, { cause: error })
    }
    models.set(name, {
      name,
      provider,
      upstreamModel: (model.provider !== "demo" && model.model) || name,
    })
  }
  return models
}

/** The provider of one model's settings; throws what is wrong with them (its name is added by the caller). */
function providerOf(model: ModelConfig): Provider {
  switch (model.provider) {
    case "demo": {
      const { provider: _, ...options } = model
      return demoProvider(options)
    }
    case "openai":
    case "anthropic": {
      checkUpstreamFields(model)
      const options = {
        baseURL: model.baseURL ?? PUBLIC_BASE_URL[model.provider],
        ...(model.apiKey === undefined ? {} : { apiKey: model.apiKey }),
        ...(model.headers === undefined ? {} : { headers: { ...model.headers } }),
        ...(model.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: model.idleTimeoutMs }),
      }
      const openaiOnly = OPENAI_ONLY_SETTINGS.filter((key) => model[key] !== undefined)
      const unset = openaiOnly.find((key) => model[key] === null)
      if (unset !== undefined) throw new TypeError(`${unset} is null: leave it out for its default`)
      if (model.provider === "anthropic" && openaiOnly.length > 0)
        throw new TypeError(
          `${openaiOnly.join(", ")} ${openaiOnly.length === 1 ? "is a setting" : "are settings"} of openai models only`,
        )
      const provider =
        model.provider === "openai"
          ? openaiProvider({
              ...options,
              ...Object.fromEntries(openaiOnly.map((key) => [key, model[key]])),
            })
          : anthropicProvider(options)
      if (needsKey(options.baseURL) && options.apiKey === undefined && !sendsKey(options.headers))
        throw new TypeError(
          `${upstreamURL(options.baseURL).hostname} refuses every request without a key: give the model one (apiKeyEnv in an --ai-models file)`,
        )
      return provider
    }
    default:
      throw new TypeError(
        `provider must be "openai", "anthropic" or "demo"; got ${JSON.stringify((model as { provider: unknown }).provider)}`,
      )
  }
}

/** The fields of an upstream model that the providers take as they are: each of its type, or absent. */
function checkUpstreamFields(model: Record<string, unknown>): void {
  for (const field of ["model", "apiKey"]) {
    const value = model[field]
    if (value !== undefined && (typeof value !== "string" || value === ""))
      throw new TypeError(`${field} must be a non-empty string; got ${JSON.stringify(value)}`)
  }
  const headers = model.headers
  if (headers === undefined) return
  const valid =
    typeof headers === "object" &&
    headers !== null &&
    !Array.isArray(headers) &&
    Object.values(headers).every((value) => typeof value === "string")
  if (!valid) throw new TypeError(`headers must be an object of strings; got ${JSON.stringify(headers)}`)
}

/** The hosts of the public APIs, which answer nothing without a key. */
const PUBLIC_HOSTS = new Set(Object.values(PUBLIC_BASE_URL).map((url) => new URL(url).hostname))

/** Whether `baseURL` is one of the public APIs. */
function needsKey(baseURL: string): boolean {
  return PUBLIC_HOSTS.has(upstreamURL(baseURL).hostname)
}

/** Whether `headers` carry a key themselves (a gateway's own scheme). */
function sendsKey(headers: Readonly<Record<string, string>> | undefined): boolean {
  return Object.keys(headers ?? {}).some((name) =>
    ["authorization", "x-api-key"].includes(name.toLowerCase()),
  )
}
