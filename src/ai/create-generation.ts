import type { IncomingMessage, ServerResponse } from "node:http"
import { LOCAL_DEV_CLIENT } from "../auth/grants.js"
import type { AIContext } from "./ai-context.js"
import {
  GENERATION_ID_HEADER,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENT_REPLAYED_HEADER,
  ON_DISCONNECT_HEADER,
} from "./ai-headers.js"
import { findLiveGeneration, permits } from "./generation-access.js"
import { generationPath, newGenerationId } from "./generation-id.js"
import type { GenerationFormat, GenerationMeta } from "./generation-meta.js"
import type { GenerationRun } from "./generation-run.js"
import { type FoundGeneration, readEnd } from "./generation-state.js"
import { NotClaimedError, ShuttingDownError } from "./generations.js"
import { idempotencyKeyOf, requestFingerprint } from "./idempotency.js"
import { readJsonBody } from "./json-body.js"
import { checkMessageBounds } from "./message-bounds.js"
import type { NormalizedRequest } from "./request.js"
import { sendClientError, sendFormatError } from "./responses.js"
import { sendRefusal } from "./send-refusal.js"
import { sendStreamAfterCursor } from "./send-stream.js"
import { settledWithin } from "./settled-within.js"
import { STREAM_FORMATS, type StreamFormat } from "./stream-formats.js"
import { streamGeneration } from "./stream-generation.js"
import { isRefusal } from "./subject-limits.js"
import { anthropicMaxTokens, DEFAULT_ANTHROPIC_MAX_TOKENS } from "./to-anthropic-request.js"
import { sendWholeAnswer } from "./whole-answer.js"

/** How a client asked for a generation, read from its request body. */
export interface ClientRequest {
  /** What to ask the model; `model` is the name the client used. */
  readonly request: NormalizedRequest
  /** Stream the answer (else answer it whole once it ended). */
  readonly streaming: boolean
  /** The OpenAI client asked for the usage chunk (`stream_options.include_usage`). */
  readonly includeUsage: boolean
  /** The UI message the answer belongs to, for the AI SDK's view (see {@link GenerationMeta.messageId}). */
  readonly messageId?: string
  /** The body field that asked for the most output tokens, to name when it asks too many. */
  readonly maxTokensField: string
  /** Runs once the generation exists (the AI SDK endpoint records it as its chat's latest). */
  readonly created?: (id: string, subject: string | undefined) => Promise<void>
}

/** An endpoint that creates generations: the format it speaks and how it reads its body. */
export interface CreateEndpoint {
  readonly format: GenerationFormat
  /** Reads the body; throws `RequestFieldError` naming a field it refuses. */
  read(body: unknown, context: AIContext): ClientRequest
}

/** What a create request comes to once admitted: a new generation, or an earlier one to answer again. */
type Admitted =
  | {
      readonly kind: "run"
      readonly run: GenerationRun
      readonly meta: GenerationMeta
      /** The format its upstream speaks (its provider's kind). */
      readonly upstream: string
      readonly streaming: boolean
    }
  | { readonly kind: "replay"; readonly found: FoundGeneration; readonly streaming: boolean }

/** Rounds of "check the key, claim it" before a request racing others for one key gives up. */
const MAX_CLAIM_ROUNDS = 3

/**
 * Starts a generation on the model a request names and answers in the endpoint's format,
 * whatever the upstream speaks — streaming from the generation's log, or the whole answer once
 * it ended. A stream's head waits up to `headWaitMs` for the upstream's first answer (a whole
 * answer for it however late), so a refusal passes through with its status (and `retry-after`)
 * in the format's error shape; a stream's later failures are error events. A retry with the
 * same `Idempotency-Key` is answered from the generation the first request started.
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
  // A client may leave while its request is admitted (auth, limits, the store's round trips):
  // its viewer then leaves as soon as it is attached, or nothing would ever end the generation.
  let gone = false
  response.once("close", () => {
    gone = true
  })
  let admitted: Admitted | undefined
  try {
    admitted = await admit(context, endpoint, request, response, url, () => gone)
  } catch (error) {
    if (sendClientError(response, format, error)) return
    if (error instanceof ShuttingDownError) {
      sendFormatError(response, format, 503, error.message, {}, { "retry-after": "1" })
      return
    }
    if (error instanceof NotClaimedError) {
      sendFormatError(
        response,
        format,
        409,
        "Other requests with this Idempotency-Key are being processed; retry in a moment.",
        { param: IDEMPOTENCY_KEY_HEADER },
        { "retry-after": "1" },
      )
      return
    }
    throw error
  }
  if (admitted === undefined) return
  if (admitted.kind === "replay") return answerAgain(context, request, response, admitted, stream, gone)

  const { run, meta } = admitted
  const id = run.id
  // The request's client is the first viewer: disconnect is not cancel, the grace period decides.
  const leave = run.attachViewer()
  if (gone) leave()
  else response.once("close", leave)
  // The run's first answer, or `undefined` when it takes longer than a stream's head may wait. A
  // whole answer sends no head before its end, so it waits for the first answer however late: a
  // refusal is then answered as the same refusal, never as a failed generation's 502 or the
  // upstream's own status.
  const outcome = admitted.streaming
    ? await settledWithin(run.started, context.headWaitMs)
    : await run.started
  if (outcome?.kind === "refused") {
    const clientFormat = admitted.upstream === endpoint.format
    sendRefusal(response, format, outcome.error, meta.model, clientFormat, { [GENERATION_ID_HEADER]: id })
    return
  }
  const viewContext = { id, meta }
  if (!admitted.streaming) {
    await sendWholeAnswer(context, format, response, run.log, viewContext, { [GENERATION_ID_HEADER]: id })
    return
  }
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
    context.streams,
    context.logger,
  )
}

/**
 * Authenticates and reads the request, then starts its generation — or finds the one an earlier
 * request with the same `Idempotency-Key` started. Answers a refusal itself and returns
 * `undefined` then, as it does for a client `gone` before its turn for a key came; throws what
 * `sendClientError` answers.
 */
async function admit(
  context: AIContext,
  endpoint: CreateEndpoint,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  gone: () => boolean,
): Promise<Admitted | undefined> {
  const format = STREAM_FORMATS[endpoint.format].errors
  const grants = await context.auth.authenticate(request, url, endpoint.format === "anthropic")
  if (!grants.can("ai", "generate", generationPath(newGenerationId()))) {
    sendFormatError(response, format, 403, "This token does not grant `generate` on the AI app.", {
      code: "insufficient_scope",
    })
    return undefined
  }
  const body = await readJsonBody(request, context.bodyLimits)
  checkMessageBounds(body, context.maxMessages, context.maxContentParts)
  const asked = endpoint.read(body, context)
  const model = context.models.get(asked.request.model)
  if (model === undefined) {
    sendFormatError(
      response,
      format,
      404,
      `The model \`${asked.request.model}\` does not exist here; GET /v1/models lists the models served.`,
      { code: "model_not_found", param: "model" },
    )
    return undefined
  }
  const tooMany = tooManyOutputTokens(asked, context.maxOutputTokens, model.provider.kind)
  if (tooMany !== undefined) {
    context.metrics.refused("max_tokens")
    sendFormatError(response, format, 400, tooMany.message, { param: tooMany.field })
    return undefined
  }
  // What the upstream's format cannot say is refused now, before anything is counted or kept.
  const upstreamRequest = heldToLimit(
    { ...asked.request, model: model.upstreamModel },
    context.maxOutputTokens,
    model.provider.kind,
  )
  model.provider.check?.(upstreamRequest)
  const graceMs = disconnectGrace(request.headers[ON_DISCONNECT_HEADER])
  if (graceMs === null) {
    sendFormatError(response, format, 400, `${ON_DISCONNECT_HEADER} must be "cancel" or "continue".`, {
      param: ON_DISCONNECT_HEADER,
    })
    return undefined
  }
  const key = idempotencyKeyOf(request.headers[IDEMPOTENCY_KEY_HEADER])
  const fingerprint = key === undefined ? "" : requestFingerprint(endpoint.format, body)
  const startOrReplay = async (): Promise<Admitted | undefined> => {
    if (gone()) return undefined
    for (let round = 1; round <= MAX_CLAIM_ROUNDS; round++) {
      const id = newGenerationId()
      let claim: (() => Promise<boolean>) | undefined
      if (key !== undefined) {
        const check = await context.idempotency.check(grants.subject, key, fingerprint, (earlier) =>
          reusable(context, earlier),
        )
        if (check.kind === "mismatch") {
          sendFormatError(
            response,
            format,
            422,
            "This Idempotency-Key was used with another request; use a new key for a new request.",
            { param: IDEMPOTENCY_KEY_HEADER },
          )
          return undefined
        }
        if (check.kind === "replay") {
          const found = await findLiveGeneration(context, check.id)
          // Gone since it was checked: claim the key again.
          if (found === undefined) continue
          // The retry repeats a request `generate` allowed, so its own generation needs no `read`.
          const own = grants.subject !== undefined && found.meta.owner === grants.subject
          if (own || permits(grants, found, "read") === "allowed")
            return { kind: "replay", found, streaming: asked.streaming }
          sendFormatError(
            response,
            format,
            403,
            "This Idempotency-Key's generation is not this token's own (a token without `sub` owns nothing), and the token does not grant `read` on it; use a token with `read`, or a new key for a new request.",
            { code: "insufficient_scope", param: IDEMPOTENCY_KEY_HEADER },
          )
          return undefined
        }
        claim = () => check.claim(id)
      }
      // Trusted local clients (dev mode, no auth in front) have no subject to count.
      const ticket = grants === LOCAL_DEV_CLIENT ? undefined : await context.limits.admit(grants.subject, id)
      if (ticket !== undefined && isRefusal(ticket)) {
        context.metrics.refused(ticket.code)
        sendFormatError(
          response,
          format,
          429,
          ticket.message,
          { code: ticket.code },
          {
            "retry-after": String(Math.ceil(ticket.retryAfterMs / 1000)),
            "retry-after-ms": String(Math.ceil(ticket.retryAfterMs)),
          },
        )
        return undefined
      }
      const meta: GenerationMeta = {
        model: model.name,
        format: endpoint.format,
        owner: grants.subject,
        createdAt: context.now(),
        includeUsage: asked.includeUsage,
        ...(asked.messageId !== undefined && { messageId: asked.messageId }),
      }
      // A token without `sub` owns nothing (outside dev mode), so it has no reasoning to remember.
      const remembers = grants.subject !== undefined || grants === LOCAL_DEV_CLIENT
      const recorder = remembers ? context.reasoning.recorder(grants.subject, id) : undefined
      let run: GenerationRun
      try {
        // A bare tool turn gets back what its model needs with it; only once admitted, as its
        // reads are work the subject's limits bound.
        const request = remembers
          ? await context.reasoning.restore(grants.subject, upstreamRequest)
          : upstreamRequest
        run = await context.generations.start({
          id,
          provider: model.provider,
          request,
          meta,
          ...(graceMs === undefined ? {} : { disconnectGraceMs: graceMs }),
          ...(claim === undefined ? {} : { claim }),
          ...(recorder === undefined ? {} : { recorder }),
        })
      } catch (error) {
        ticket?.release()
        // Another request with the key won the claim: answer its generation (next round).
        if (error instanceof NotClaimedError) continue
        throw error
      }
      // Records about the generation, not the generation: one that fails is logged, and it runs on.
      const noted = (what: string) => (error: unknown) => {
        context.logger.warn({ err: error, generation: id }, `could not record ${what}`)
      }
      await Promise.all([
        ticket?.started().catch(noted("a generation's start for its subject's rate")),
        asked.created?.(id, grants.subject).catch(noted("a chat's latest generation")),
        context.prompts.store(id, asked.request).catch(noted("a generation's prompt")),
      ])
      return { kind: "run", run, meta, upstream: model.provider.kind, streaming: asked.streaming }
    }
    throw new NotClaimedError("every round of claiming the Idempotency-Key went to another request")
  }
  // Requests racing for one key on this node take turns: the first claims it, the others replay it.
  return key === undefined ? startOrReplay() : context.idempotency.inTurn(grants.subject, key, startOrReplay)
}

/** The field a thinking budget comes in: only Messages has one. */
const THINKING_BUDGET_FIELD = "thinking.budget_tokens"

/**
 * The field of a request that asks for more than `limit` output tokens, and why, or `undefined`
 * when it asks for no more. A thinking budget is output tokens too, and without a most of its own
 * a request with one asks Claude for the budget and a default beside it (anthropicMaxTokens): the
 * limit holds for what goes upstream, named by the field the client sent.
 */
function tooManyOutputTokens(
  asked: ClientRequest,
  limit: number,
  upstream: string,
): { field: string; message: string } | undefined {
  const { maxTokens, thinking } = asked.request
  const most = `at most ${limit} output tokens may be asked for here.`
  if (maxTokens !== undefined && maxTokens > limit)
    return { field: asked.maxTokensField, message: `${asked.maxTokensField}: ${most}` }
  if (thinking?.type !== "enabled") return undefined
  if (thinking.budgetTokens > limit)
    return { field: THINKING_BUDGET_FIELD, message: `${THINKING_BUDGET_FIELD}: ${most}` }
  // Only Claude is asked for the budget and more beside it; other upstreams get an effort.
  if (upstream !== "anthropic") return undefined
  const sent = anthropicMaxTokens(asked.request)
  if (sent <= limit) return undefined
  return {
    field: THINKING_BUDGET_FIELD,
    message: `${THINKING_BUDGET_FIELD}: ${most} Without ${asked.maxTokensField}, a budget asks for ${DEFAULT_ANTHROPIC_MAX_TOKENS} more for the answer (${sent} in all); set ${asked.maxTokensField} to at most ${limit}.`,
  }
}

/**
 * `request` as it goes upstream: Messages requires a most of output tokens, and when the client
 * set none the adapter's default (anthropicMaxTokens) must not pass the operator's limit either.
 * (With a thinking budget, tooManyOutputTokens has refused what would pass it.)
 */
function heldToLimit(request: NormalizedRequest, limit: number, upstream: string): NormalizedRequest {
  if (upstream !== "anthropic" || request.maxTokens !== undefined || anthropicMaxTokens(request) <= limit)
    return request
  return { ...request, maxTokens: limit }
}

/**
 * Whether a retry may be answered with generation `id`: it is still kept, and did not fail
 * before its first token (a retry after a refusal, a 429, asks again).
 */
async function reusable(context: AIContext, id: string): Promise<boolean> {
  const found = await findLiveGeneration(context, id)
  if (found === undefined) return false
  const end = await readEnd(context.engine, found)
  return (
    end === undefined ||
    end.status === "done" ||
    end.status === "cancelled" ||
    end.stats.timeToFirstTokenMs !== undefined
  )
}

/** Answers a retry with the generation of the request it repeats: streamed from the start (or its cursor), or whole. */
async function answerAgain(
  context: AIContext,
  request: IncomingMessage,
  response: ServerResponse,
  admitted: Admitted & { kind: "replay" },
  stream: StreamFormat,
  gone: boolean,
): Promise<void> {
  const { found } = admitted
  const headers = { [IDEMPOTENT_REPLAYED_HEADER]: "true" }
  if (admitted.streaming) {
    await sendStreamAfterCursor(context, request, response, found, stream, headers)
    return
  }
  // A retry waiting for the whole answer is a viewer, as a stream is: the client that came back
  // after a lost connection keeps the disconnect grace from cancelling what it waits for.
  if (!found.head.closed && !gone) response.once("close", context.generations.watch(found.id))
  await sendWholeAnswer(
    context,
    stream.errors,
    response,
    found.log,
    { id: found.id, meta: found.meta },
    {
      ...headers,
      [GENERATION_ID_HEADER]: found.id,
    },
  )
}

/** The grace a `Herald-On-Disconnect` value asks for: `undefined` the default, `null` not a valid value. */
function disconnectGrace(value: string | string[] | undefined): number | undefined | null {
  if (value === undefined) return undefined
  const choice = Array.isArray(value) ? undefined : value.trim().toLowerCase()
  if (choice === "cancel") return 0
  if (choice === "continue") return Number.POSITIVE_INFINITY
  return null
}
