import type { IncomingMessage, ServerResponse } from "node:http"
import type { Engine } from "../engine/engine.js"
import { defaultLogger, type Logger } from "../logger.js"
import { createSSE, DEFAULT_HEARTBEAT_MS } from "../server/index.js"
import { type AIAuthOptions, createAIAuthenticator } from "./ai-auth.js"
import type { AIContext } from "./ai-context.js"
import { anthropicFormat } from "./anthropic-format.js"
import { createGeneration } from "./create-generation.js"
import { fromAnthropicMessagesRequest } from "./from-anthropic-request.js"
import { fromOpenAIChatRequest } from "./from-openai-request.js"
import { type GenerationLogAccess, openGenerationLog } from "./generation-access.js"
import { cancelGeneration, generationState, generationStream, listModels } from "./generation-endpoints.js"
import { isGenerationId } from "./generation-id.js"
import { createGenerations, type Generations, type GenerationsOptions } from "./generations.js"
import { createModels, type ModelConfig } from "./models.js"
import { openaiFormat } from "./openai-format.js"
import { sendFormatError } from "./responses.js"

/** Options of {@link createAIHandler}. Everything but the engine has a default. */
export interface AIHandlerOptions extends Omit<GenerationsOptions, "logger"> {
  readonly engine: Engine
  /** The models served, by the name clients use. Default: the offline `demo` model only. */
  readonly models?: Readonly<Record<string, ModelConfig>>
  /** Who may use the endpoints. `undefined`: everyone (put your own auth in front). */
  readonly auth?: AIAuthOptions
  /** How long a new generation's response head waits for the upstream's first answer, in ms. Default 2000. */
  readonly headWaitMs?: number
  /** Heartbeat comments on open streams (until the first token, and between slow ones), in ms. Default 15 000. */
  readonly heartbeatMs?: number
  /** Largest request body, in bytes (prompts with images are large). Default 8 MiB. */
  readonly maxBodyBytes?: number
  /** How long `POST /v1/generations/{id}/cancel` waits for the generation to end, in ms. Default 2000. */
  readonly cancelWaitMs?: number
  readonly logger?: Logger
}

/** The AI endpoints as one app: what a router mounts (`herald serve` does), or `http.createServer(ai.handle)`. */
export interface AIHandler {
  /** Whether {@link handle} answers `path` (a request's path, without its query). */
  owns(path: string): boolean
  /** Answers a request; resolves once answered (a stream: once it is live). */
  handle(request: IncomingMessage, response: ServerResponse): Promise<void>
  /** This node's generations. */
  readonly generations: Generations
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
const EXACT_PATHS = new Set(["/v1/chat/completions", "/v1/messages", "/v1/models"])

/**
 * OpenAI- and Anthropic-compatible endpoints whose generations are stored as logs as they stream:
 * `POST /v1/chat/completions`, `POST /v1/messages`, `GET /v1/models`, and
 * `GET /v1/generations/{id}`, `GET /v1/generations/{id}/stream`, `POST /v1/generations/{id}/cancel`.
 */
export function createAIHandler(options: AIHandlerOptions): AIHandler {
  const logger = options.logger ?? defaultLogger()
  const generations = createGenerations({ ...options, logger })
  const sse = createSSE({
    heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
    lastEventIdParams: ["last_event_id", "lastEventId"],
    logger,
  })
  const context: AIContext = {
    engine: options.engine,
    generations,
    models: createModels(options.models),
    auth: createAIAuthenticator(options.auth),
    sse,
    headWaitMs: options.headWaitMs ?? 2000,
    maxBodyBytes: options.maxBodyBytes ?? 8 * 1024 * 1024,
    cancelWaitMs: options.cancelWaitMs ?? 2000,
    logger,
    now: options.now ?? Date.now,
  }

  const owns = (path: string): boolean => EXACT_PATHS.has(path) || path.startsWith(GENERATIONS_PREFIX)

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? "/", "http://localhost")
    const method = request.method ?? "GET"
    const path = url.pathname
    if (path === "/v1/chat/completions" || path === "/v1/messages") {
      const anthropic = path === "/v1/messages"
      const format = anthropic ? anthropicFormat : openaiFormat
      if (method !== "POST") return notAllowed(response, format, "POST")
      return createGeneration(
        context,
        format,
        anthropic ? fromAnthropicMessagesRequest : fromOpenAIChatRequest,
        request,
        response,
        url,
      )
    }
    if (path === "/v1/models") {
      if (method !== "GET" && method !== "HEAD") return notAllowed(response, openaiFormat, "GET")
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
      if (method !== "GET" && method !== "HEAD") return notAllowed(response, openaiFormat, "GET")
      return generationState(context, request, response, url, id)
    }
    if (action === "stream") {
      if (method !== "GET") return notAllowed(response, openaiFormat, "GET")
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

  return {
    owns,
    handle,
    generations,
    openGenerationLog: (id, request, url) => openGenerationLog(context, request, url, id),
    async close(closeOptions = {}) {
      await generations.close(closeOptions)
      // Every generation has ended: its readers got the terminal entry; the rest are told to come back.
      await sse.close({ deadlineMs: 1000 })
    },
  }
}

function notAllowed(response: ServerResponse, format: typeof openaiFormat, allow: "GET" | "POST"): void {
  sendFormatError(
    response,
    format,
    405,
    `Use ${allow} here.`,
    {},
    { allow: allow === "GET" ? "GET, HEAD" : "POST" },
  )
}
