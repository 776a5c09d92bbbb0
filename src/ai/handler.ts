import type { IncomingMessage, ServerResponse } from "node:http"
import type { Registry } from "prom-client"
import type { Engine } from "../engine/engine.js"
import { defaultLogger, type Logger } from "../logger.js"
import { ADMISSION_RETRY_AFTER_SECONDS, type Admission, createAdmission } from "../server/admission.js"
import { DEFAULT_BODY_IDLE_TIMEOUT_MS } from "../server/body.js"
import { createClientAddressResolver, type ForwardedHeader } from "../server/client-address.js"
import { createSSE, DEFAULT_HEARTBEAT_MS, withErrorBoundary } from "../server/index.js"
import { onResponseGone } from "../server/response-gone.js"
import { type AIAuthOptions, createAIAuthenticator } from "./ai-auth.js"
import type { AIContext } from "./ai-context.js"
import { createAIMetrics } from "./ai-metrics.js"
import { type AICorsOptions, createAICors } from "./cors.js"
import { aiSdkChatEndpoint, anthropicMessagesEndpoint, openaiChatEndpoint } from "./create-endpoints.js"
import { type CreateEndpoint, createGeneration } from "./create-generation.js"
import { engineRefusals } from "./engine-refusal.js"
import { type GenerationLogAccess, openGenerationLog } from "./generation-access.js"
import { cancelGeneration, generationState, generationStream, listModels } from "./generation-endpoints.js"
import { isGenerationId } from "./generation-id.js"
import { createGenerations, type Generations, type GenerationsOptions } from "./generations.js"
import { createIdempotencyKeys } from "./idempotency.js"
import { DEFAULT_MAX_BODY_DEPTH, DEFAULT_MAX_BODY_KEYS, DEFAULT_MAX_BODY_VALUES } from "./json-body.js"
import { createLatestGenerations } from "./latest-generations.js"
import { DEFAULT_MAX_CONTENT_PARTS, DEFAULT_MAX_MESSAGES } from "./message-bounds.js"
import { createModels, type ModelConfig } from "./models.js"
import { OpenStreams } from "./open-streams.js"
import { openaiFormat } from "./openai-format.js"
import { positive, positiveTimerDelay } from "./option-checks.js"
import { createPrompts, UNSTORED_PROMPTS } from "./prompts.js"
import { createReasoningMemory, NO_REASONING_MEMORY } from "./reasoning-memory.js"
import { sendFormatError } from "./responses.js"
import { resumeChat } from "./resume-chat.js"
import { STREAM_FORMATS } from "./stream-formats.js"
import { createSubjectLimits } from "./subject-limits.js"
import type { WireFormat } from "./wire-format.js"

/** Options of {@link createAIHandler}. Everything but the engine has a default. */
export interface AIHandlerOptions extends Omit<GenerationsOptions, "logger"> {
  readonly engine: Engine
  /** The models served, by the name clients use. Default: the offline `demo` model only. */
  readonly models?: Readonly<Record<string, ModelConfig>>
  /** Who may use the endpoints. `undefined`: everyone (put your own auth in front). */
  readonly auth?: AIAuthOptions
  /** Which pages of other origins may call the endpoints. Default: none (same-origin pages only). */
  readonly cors?: AICorsOptions
  /** How long a new generation's response head waits for the upstream's first answer, in ms. Default 2000. */
  readonly headWaitMs?: number
  /** Heartbeat comments on open streams (until the first token, and between slow ones), in ms. Default 15 000. */
  readonly heartbeatMs?: number
  /** Largest request body, in bytes (prompts with images are large). Default 8 MiB. */
  readonly maxBodyBytes?: number
  /** Longest pause in a request body, in ms: past it, 408 and the connection is closed. Default 60 000. */
  readonly bodyIdleTimeoutMs?: number
  /** How deep arrays and objects may nest in a request body; deeper is a 400. Default 64. */
  readonly maxBodyDepth?: number
  /** How many keys one object of a request body may have; more is a 400. Default 10 000. */
  readonly maxBodyKeys?: number
  /**
   * How many values (array items and object members, at any depth) a request body may hold; more
   * is a 400. Default 200 000.
   */
  readonly maxBodyValues?: number
  /**
   * Bounds the open long-lived responses (streams, and create requests waiting on their
   * generation), in all and per client address: 429 past them. Pass a hub's `admission` to count
   * them with its subscribers (`herald serve` does). Default: bounds of its own, 50 000 in all and
   * 256 per address, an IPv6 client's /64 as one (`createAdmission` of `herald/server`).
   */
  readonly admission?: Admission
  /**
   * The reverse proxies in front, whose forwarded client address is counted per address; see
   * `createClientAddressResolver` of `herald/server`. Default none: the TCP peer is the client.
   */
  readonly trustedProxies?: readonly string[]
  /** The header the trusted proxies set: `"x-forwarded-for"` (default) or `"forwarded"` (RFC 7239). */
  readonly trustedProxyHeader?: ForwardedHeader
  /** Generations one subject (a token's `sub`) may run at once, across the nodes sharing the engine. Default 16. */
  readonly maxConcurrentPerSubject?: number
  /** Generations one subject may start per minute, counted across the nodes of the engine. Default 120. */
  readonly maxPerMinutePerSubject?: number
  /** The most output tokens a request may ask for (`max_tokens`); more is a 400. Default 65 536. */
  readonly maxOutputTokens?: number
  /** The most messages a request may send (`messages`); more is a 400 naming the field. Default 2000. */
  readonly maxMessages?: number
  /**
   * The most content parts (content parts, blocks, a UI message's parts) all of a request's
   * messages may have together, counted with the other lists its translation reads item by item
   * (tool calls, thinking blocks, a tool result's blocks, system blocks, tools); more is a 400
   * naming the field where the count passed it. Default 20 000.
   */
  readonly maxContentParts?: number
  /**
   * Keep each generation's prompt (system and messages; inline images as their media type only)
   * for `GET /v1/generations/{id}?include=prompt`, as long as the generation. Default `true`.
   */
  readonly storePrompts?: boolean
  /**
   * Remember which generation made each tool call whose turn a thinking model needs back with
   * its reasoning (Claude's signed thinking, Gemini's thought signatures, OpenRouter's encrypted
   * details), and give a tool turn that comes back without it its reasoning again, so that
   * clients that drop it (LangChain, apps storing plain messages) run those tool loops too.
   * Costs one small write per such call, and reads for a bare tool turn. Default `true`.
   */
  readonly rememberReasoning?: boolean
  /** How long `POST /v1/generations/{id}/cancel` waits for the generation to end, in ms. Default 2000. */
  readonly cancelWaitMs?: number
  /**
   * How long an `Idempotency-Key` is remembered after the last generation started with it, in ms.
   * Default: the generations' retention (1 hour); a key outliving its generation starts a new one.
   */
  readonly idempotencyWindowMs?: number
  readonly logger?: Logger
}

/** The AI endpoints as one app: what a router mounts (`herald serve` does), or `http.createServer(ai.handle)`. */
export interface AIHandler {
  /** Whether {@link handle} answers `path` (a request's path, without its query). */
  owns(path: string): boolean
  /**
   * Answers a request; resolves once answered (a stream: once it is live). Never rejects: a store
   * out of reach is a 503 with `Retry-After` in the endpoint's error shape, a full one a 507; any other failure is
   * answered as `withErrorBoundary` does (a 500, or the connection cut) and logged.
   */
  handle(request: IncomingMessage, response: ServerResponse): Promise<void>
  /** This node's generations. */
  readonly generations: Generations
  /** The metrics of the generations (`herald_ai_*`), for a `/metrics` endpoint (`herald serve` merges them into its own). */
  readonly metrics: Registry
  /**
   * Opens generation `id`'s log for a reader of another protocol — `herald serve` serves it as a
   * read-only Durable Stream — with the checks of `GET /v1/generations/{id}/stream`.
   */
  openGenerationLog(id: string, request: IncomingMessage, url: URL): Promise<GenerationLogAccess>
  /**
   * Takes no new generations, lets running ones finish for `deadlineMs`, marks the rest
   * `interrupted`, then ends the open streams. Leaves the engine open.
   */
  close(options?: { readonly deadlineMs?: number }): Promise<void>
}

const GENERATIONS_PREFIX = "/v1/generations/"
/** The endpoints that create generations, by path. */
const CREATE_ENDPOINTS: ReadonlyMap<string, CreateEndpoint> = new Map([
  ["/v1/chat/completions", openaiChatEndpoint],
  ["/v1/messages", anthropicMessagesEndpoint],
  ["/v1/ai-sdk/chat", aiSdkChatEndpoint],
])
/** `/v1/ai-sdk/chat/{chatId}/stream`, the chat id percent-encoded. */
const AI_SDK_RESUME = /^\/v1\/ai-sdk\/chat\/([^/]+)\/stream$/

/**
 * OpenAI- and Anthropic-compatible endpoints whose generations are stored as logs as they stream:
 * `POST /v1/chat/completions`, `POST /v1/messages`, `GET /v1/models`, and
 * `GET /v1/generations/{id}`, `GET /v1/generations/{id}/stream`, `POST /v1/generations/{id}/cancel`;
 * and the AI SDK's backend: `POST /v1/ai-sdk/chat`, `GET /v1/ai-sdk/chat/{chatId}/stream`.
 */
export function createAIHandler(options: AIHandlerOptions): AIHandler {
  const logger = options.logger ?? defaultLogger()
  const metrics = createAIMetrics()
  const generations = createGenerations({ ...options, logger, observer: metrics })
  const sse = createSSE({
    heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    lastEventIdParams: ["last_event_id", "lastEventId"],
    logger,
  })
  const models = createModels(options.models)
  const admission = options.admission ?? createAdmission()
  const clientAddress = createClientAddressResolver({
    trustedProxies: options.trustedProxies ?? [],
    header: options.trustedProxyHeader ?? "x-forwarded-for",
  })
  const context: AIContext = {
    engine: options.engine,
    generations,
    models,
    defaultModel: models.keys().next().value ?? "demo",
    chats: createLatestGenerations(options.engine, "ai/chat/", generations.retentionMs),
    idempotency: createIdempotencyKeys(
      options.engine,
      positive("idempotencyWindowMs", options.idempotencyWindowMs ?? generations.retentionMs),
    ),
    metrics,
    limits: createSubjectLimits(
      options.engine,
      {
        maxConcurrent: positive("maxConcurrentPerSubject", options.maxConcurrentPerSubject ?? 16),
        maxPerMinute: positive("maxPerMinutePerSubject", options.maxPerMinutePerSubject ?? 120),
      },
      options.now ?? Date.now,
    ),
    maxOutputTokens: positive("maxOutputTokens", options.maxOutputTokens ?? 65_536),
    maxMessages: positive("maxMessages", options.maxMessages ?? DEFAULT_MAX_MESSAGES),
    maxContentParts: positive("maxContentParts", options.maxContentParts ?? DEFAULT_MAX_CONTENT_PARTS),
    prompts:
      options.storePrompts === false
        ? UNSTORED_PROMPTS
        : createPrompts(options.engine, generations.retentionMs),
    reasoning:
      options.rememberReasoning === false
        ? NO_REASONING_MEMORY
        : createReasoningMemory(options.engine, generations.retentionMs, logger, (outcome) =>
            metrics.restored(outcome),
          ),
    auth: createAIAuthenticator(options.auth),
    sse,
    // A store that does not answer for as long as an append may take ends the streams here.
    streams: new OpenStreams({ engine: options.engine, boundMs: generations.storeTimeoutMs }),
    headWaitMs: options.headWaitMs ?? 2000,
    bodyLimits: {
      maxBodyBytes: positive("maxBodyBytes", options.maxBodyBytes ?? 8 * 1024 * 1024),
      bodyIdleTimeoutMs: positiveTimerDelay(
        "bodyIdleTimeoutMs",
        options.bodyIdleTimeoutMs ?? DEFAULT_BODY_IDLE_TIMEOUT_MS,
      ),
      maxBodyDepth: positive("maxBodyDepth", options.maxBodyDepth ?? DEFAULT_MAX_BODY_DEPTH),
      maxBodyKeys: positive("maxBodyKeys", options.maxBodyKeys ?? DEFAULT_MAX_BODY_KEYS),
      maxBodyValues: positive("maxBodyValues", options.maxBodyValues ?? DEFAULT_MAX_BODY_VALUES),
    },
    cancelWaitMs: options.cancelWaitMs ?? 2000,
    logger,
    now: options.now ?? Date.now,
  }

  const owns = (path: string): boolean =>
    CREATE_ENDPOINTS.has(path) ||
    path === "/v1/models" ||
    path.startsWith(GENERATIONS_PREFIX) ||
    AI_SDK_RESUME.test(path)

  const cors = createAICors(options.cors)

  const route = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? "/", "http://localhost")
    const method = request.method ?? "GET"
    const path = url.pathname
    if (method === "OPTIONS") return cors.preflight(request, response)
    // Set before any answer (an error, a stream, the error boundary's 500): writeHead keeps them.
    for (const [name, value] of Object.entries(cors.headersFor(request.headers.origin)))
      response.setHeader(name, value)
    const endpoint = CREATE_ENDPOINTS.get(path)
    if (endpoint !== undefined) {
      const format = STREAM_FORMATS[endpoint.format].errors
      if (method !== "POST") return notAllowed(response, format, "POST")
      if (!admitted(request, response, format)) return
      return createGeneration(context, endpoint, request, response, url)
    }
    const resume = AI_SDK_RESUME.exec(path)
    if (resume !== null) {
      if (method !== "GET") return notAllowed(response, openaiFormat, "GET")
      let chatId: string
      try {
        chatId = decodeURIComponent(resume[1] as string)
      } catch {
        sendFormatError(response, openaiFormat, 400, "The chat id in the path is not valid percent-encoding.")
        return
      }
      if (!admitted(request, response, openaiFormat)) return
      return resumeChat(context, request, response, url, chatId)
    }
    if (path === "/v1/models") {
      if (method !== "GET" && method !== "HEAD") return notAllowed(response, openaiFormat, "GET, HEAD")
      return listModels(context, request, response, url)
    }
    const [id, action, ...rest] = path.slice(GENERATIONS_PREFIX.length).split("/")
    if (id === undefined || !isGenerationId(id) || rest.length > 0) {
      sendFormatError(
        response,
        openaiFormat,
        404,
        "No such generation path: /v1/generations/{id}[/stream|/cancel].",
      )
      return
    }
    if (action === undefined) {
      if (method !== "GET" && method !== "HEAD") return notAllowed(response, openaiFormat, "GET, HEAD")
      return generationState(context, request, response, url, id)
    }
    if (action === "stream") {
      if (method !== "GET") return notAllowed(response, openaiFormat, "GET")
      if (!admitted(request, response, openaiFormat)) return
      return generationStream(context, request, response, url, id)
    }
    if (action === "cancel") {
      if (method !== "POST") return notAllowed(response, openaiFormat, "POST")
      return cancelGeneration(context, request, response, url, id)
    }
    sendFormatError(
      response,
      openaiFormat,
      404,
      "No such generation path: /v1/generations/{id}[/stream|/cancel].",
    )
  }

  /**
   * Takes a slot of the admission for a request whose response may last (a stream, a create
   * waiting on its generation) until the response closes; else answers 429 and returns `false`.
   * Taken before the request is authenticated: the endpoints' code reads the token and the body
   * and opens the stream in one piece, and a refused client holds the slot only while refused.
   */
  const admitted = (request: IncomingMessage, response: ServerResponse, format: WireFormat): boolean => {
    const address = clientAddress(request)
    const refused = admission.admit(address)
    if (refused === undefined) {
      onResponseGone(request, response, () => admission.release(address))
      return true
    }
    const hint =
      refused.limit === "maxConnectionsPerAddress"
        ? " Each stream and each create request waiting on its generation counts; close the ones no longer read."
        : ""
    sendFormatError(
      response,
      format,
      429,
      refused.message + hint,
      { code: "too_many_connections" },
      {
        "retry-after": String(ADMISSION_RETRY_AFTER_SECONDS),
      },
    )
    return false
  }

  /**
   * An engine's refusal (its store unreachable, or its maximum of logs: a 503; its disk full: a
   * 507) is answered in the endpoint's error shape (engine-refusal.ts). Anything else goes to
   * the error boundary.
   */
  const sendEngineRefusal = engineRefusals(options.engine, logger, (reason) => metrics.refused(reason))
  const routeOrUnavailable = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    try {
      await route(request, response)
    } catch (error) {
      if (response.headersSent) throw error
      const path = (request.url ?? "").split("?", 1)[0] as string
      const format = STREAM_FORMATS[CREATE_ENDPOINTS.get(path)?.format ?? "openai"].errors
      if (!sendEngineRefusal(response, format, error, path)) throw error
    }
  }

  return {
    owns,
    handle: withErrorBoundary(routeOrUnavailable, logger),
    generations,
    metrics: metrics.registry,
    openGenerationLog: (id, request, url) => openGenerationLog(context, request, url, id),
    async close(closeOptions = {}) {
      await generations.close(closeOptions)
      // Every generation of this node has ended; its readers get the terminal entry in a moment.
      // A stream still open then (its end not stored, or another node's generation) is told so.
      await context.streams.interruptAll(STREAM_DRAIN_MS)
      await sse.close({ deadlineMs: 1000 })
    },
  }
}

/** How long a shutdown waits for generation streams to deliver the ends just stored, ms. */
const STREAM_DRAIN_MS = 500

/** A 405 whose `Allow` lists the methods the path answers. */
function notAllowed(response: ServerResponse, format: WireFormat, allow: "GET" | "GET, HEAD" | "POST"): void {
  sendFormatError(response, format, 405, `Use ${allow.replace(", ", " or ")} here.`, {}, { allow })
}
