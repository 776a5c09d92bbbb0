import type { IncomingMessage, ServerResponse } from "node:http"
import type { AIContext } from "./ai-context.js"
import { foldAnswer } from "./answer.js"
import { collectGeneration } from "./collect-generation.js"
import { generationPath, newGenerationId } from "./generation-id.js"
import type { GenerationFormat, GenerationMeta } from "./generation-meta.js"
import type { GenerationRun, StartOutcome } from "./generation-run.js"
import { ShuttingDownError } from "./generations.js"
import { readJsonBody } from "./json-body.js"
import type { NormalizedRequest } from "./request.js"
import { sendClientError, sendFormatError, sendJson } from "./responses.js"
import type { EndEntry } from "./stored-entry.js"
import { STREAM_FORMATS } from "./stream-formats.js"
import { streamGeneration } from "./stream-generation.js"
import { upstreamErrorMessage } from "./upstream-message.js"

/** The response header naming the generation, to read, resume or cancel it later. */
export const GENERATION_ID_HEADER = "herald-generation-id"
/** The request header choosing what a disconnect does: `cancel` at once, or `continue` to the end. */
export const ON_DISCONNECT_HEADER = "herald-on-disconnect"

/** How a client asked for a generation, read from its request body. */
export interface ClientRequest {
  /** What to ask the model; `model` is the name the client used. */
  readonly request: NormalizedRequest
  /** Stream the answer (else answer it whole once it ended). */
  readonly streaming: boolean
  /** The OpenAI client asked for the usage chunk (`stream_options.include_usage`). */
  readonly includeUsage: boolean
  /** Runs once the generation exists (the AI SDK endpoint records it as its chat's latest). */
  readonly created?: (id: string, subject: string | undefined) => Promise<void>
}

/** An endpoint that creates generations: the format it speaks and how it reads its body. */
export interface CreateEndpoint {
  readonly format: GenerationFormat
  /** Reads the body; throws `RequestFieldError` naming a field it refuses. */
  read(body: unknown, context: AIContext): ClientRequest
}

/**
 * Starts a generation on the model a request names and answers in the endpoint's format,
 * whatever the upstream speaks — streaming from the generation's log, or the whole answer once
 * it ended. The response head waits up to `headWaitMs` for the upstream's first answer, so a
 * refusal passes through with its status (and `retry-after`) in the format's error shape; later
 * failures are error events.
 */
export async function createGeneration(
  context: AIContext,
  endpoint: CreateEndpoint,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
): Promise<void> {
  const stream = STREAM_FORMATS[endpoint.format]
  const format = stream.errors
  const id = newGenerationId()
  let run: GenerationRun
  let asked: ClientRequest
  let meta: GenerationMeta
  try {
    const grants = await context.auth.authenticate(request, url, endpoint.format === "anthropic")
    if (!grants.can("ai", "generate", generationPath(id))) {
      sendFormatError(response, format, 403, "This token does not grant `generate` on the AI app.", {
        code: "insufficient_scope",
      })
      return
    }
    const body = await readJsonBody(request, context.maxBodyBytes)
    asked = endpoint.read(body, context)
    const model = context.models.get(asked.request.model)
    if (model === undefined) {
      sendFormatError(
        response,
        format,
        404,
        `The model \`${asked.request.model}\` does not exist here; GET /v1/models lists the models served.`,
        { code: "model_not_found", param: "model" },
      )
      return
    }
    const graceMs = disconnectGrace(request.headers[ON_DISCONNECT_HEADER])
    if (graceMs === null) {
      sendFormatError(response, format, 400, `${ON_DISCONNECT_HEADER} must be "cancel" or "continue".`, {
        param: ON_DISCONNECT_HEADER,
      })
      return
    }
    meta = {
      model: model.name,
      format: endpoint.format,
      owner: grants.subject,
      createdAt: context.now(),
      includeUsage: asked.includeUsage,
    }
    run = await context.generations.start({
      id,
      provider: model.provider,
      request: { ...asked.request, model: model.upstreamModel },
      meta,
      ...(graceMs === undefined ? {} : { disconnectGraceMs: graceMs }),
    })
    await asked.created?.(id, grants.subject)
  } catch (error) {
    if (sendClientError(response, format, error)) return
    if (error instanceof ShuttingDownError) {
      sendFormatError(response, format, 503, error.message, {}, { "retry-after": "1" })
      return
    }
    throw error
  }

  // The request's client is the first viewer: disconnect is not cancel, the grace period decides.
  const leave = run.attachViewer()
  response.once("close", leave)
  const outcome = await firstAnswer(run, context.headWaitMs)
  if (outcome?.kind === "refused") {
    const error = outcome.error
    const status =
      "status" in error ? (error.status !== undefined && error.status >= 400 ? error.status : 502) : 400
    sendFormatError(
      response,
      format,
      status,
      "field" in error ? error.message : upstreamErrorMessage(error),
      "field" in error ? { param: error.field } : {},
      { ...("headers" in error ? error.headers : {}), [GENERATION_ID_HEADER]: id },
    )
    return
  }
  const viewContext = { id, meta }
  if (asked.streaming) {
    const connection = context.sse.connect(request, response, {
      headers: { [GENERATION_ID_HEADER]: id, ...stream.headers },
    })
    if (connection.closed) return
    await streamGeneration(
      context.engine,
      run.log,
      stream.view(viewContext),
      undefined,
      connection,
      context.logger,
    )
    return
  }
  const closed = new AbortController()
  response.once("close", () => closed.abort(new Error("the client left")))
  let entries: Awaited<ReturnType<typeof collectGeneration>>
  try {
    entries = await collectGeneration(context.engine, run.log, closed.signal)
  } catch (error) {
    if (closed.signal.aborted) return
    throw error
  }
  const answer = foldAnswer(entries)
  const headers = { [GENERATION_ID_HEADER]: id }
  const end = answer.end
  if (end?.status === "done" && answer.error === undefined) {
    sendJson(response, 200, format.answer(answer, viewContext), headers)
    return
  }
  const failure = endFailure(end, answer.error)
  sendFormatError(
    response,
    format,
    failure.status,
    failure.message,
    failure.type === undefined ? {} : { type: failure.type },
    headers,
  )
}

/** The status and error of a generation that did not finish: what a non-streaming client gets. */
function endFailure(
  end: EndEntry | undefined,
  error: { message: string; errorType?: string } | undefined,
): { status: number; message: string; type?: string } {
  if (error !== undefined)
    return {
      status: 502,
      message: error.message,
      ...(error.errorType === undefined ? {} : { type: error.errorType }),
    }
  const message = end?.error?.message ?? "the generation ended without an answer"
  switch (end?.status) {
    case "cancelled":
      return { status: 409, message, type: "generation_cancelled" }
    case "interrupted":
      return { status: 503, message, type: "generation_interrupted" }
    default:
      return { status: end?.error?.status ?? 502, message }
  }
}

/** The run's first answer, or `undefined` when it takes longer than `ms`. */
async function firstAnswer(run: GenerationRun, ms: number): Promise<StartOutcome | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
  })
  try {
    return await Promise.race([run.started, late])
  } finally {
    clearTimeout(timer)
  }
}

/** The grace a `Herald-On-Disconnect` value asks for: `undefined` the default, `null` not a valid value. */
function disconnectGrace(value: string | string[] | undefined): number | undefined | null {
  if (value === undefined) return undefined
  const choice = Array.isArray(value) ? undefined : value.trim().toLowerCase()
  if (choice === "cancel") return 0
  if (choice === "continue") return Number.POSITIVE_INFINITY
  return null
}
