import type { IncomingMessage, ServerResponse } from "node:http"
import type { Grants } from "../auth/grants.js"
import { follow } from "../engine/follow.js"
import { StorageFullError } from "../engine/storage-full.js"
import type { AIContext } from "./ai-context.js"
import { checkGenerationAccess, type GenerationAction } from "./generation-access.js"
import { isGenerationFormat } from "./generation-meta.js"
import { type FoundGeneration, findGeneration, readEnd, stateBody } from "./generation-state.js"
import { openaiFormat } from "./openai-format.js"
import { sendClientError, sendFormatError, sendJson } from "./responses.js"
import { sendStreamAfterCursor } from "./send-stream.js"
import { STREAM_FORMATS } from "./stream-formats.js"
import type { WireFormat } from "./wire-format.js"

/**
 * Authenticates, finds the generation and checks `action` on it (its creator may act on it with
 * any AI action it holds; docs/authorization.md, rule 4). Answers the refusal itself and returns
 * `undefined` then.
 */
async function authorize(
  context: AIContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  id: string,
  action: GenerationAction,
  format: WireFormat,
): Promise<{ found: FoundGeneration; grants: Grants } | undefined> {
  const access = await checkGenerationAccess(context, request, url, id, action, format.name === "anthropic")
  if ("found" in access) return access
  const { refusal } = access
  const details = refusal.code === undefined ? {} : { code: refusal.code }
  sendFormatError(response, format, refusal.status, refusal.message, details, refusal.headers)
  return undefined
}

/** `GET /v1/generations/{id}`: the generation's state as JSON; `?include=prompt` adds its prompt (`null` when not kept). */
export async function generationState(
  context: AIContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  id: string,
): Promise<void> {
  const allowed = await authorize(context, request, response, url, id, "read", openaiFormat)
  if (allowed === undefined) return
  const { found } = allowed
  const body = stateBody(found, await readEnd(context.engine, found))
  if (url.searchParams.get("include") === "prompt") body.prompt = (await context.prompts.read(id)) ?? null
  sendJson(response, 200, body)
}

/**
 * `GET /v1/generations/{id}/stream`: the generation's events in its format (or `?format=`:
 * `openai`, `anthropic`, or `ai-sdk`, the AI SDK's UI message stream),
 * from the start or after the cursor (`Last-Event-ID`, `?last_event_id`), live until it ends,
 * and after it ended while it is kept.
 */
export async function generationStream(
  context: AIContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  id: string,
): Promise<void> {
  const asked = url.searchParams.get("format")
  if (asked !== null && !isGenerationFormat(asked)) {
    sendFormatError(response, openaiFormat, 400, 'format must be "openai", "anthropic" or "ai-sdk".', {
      param: "format",
    })
    return
  }
  const errors = asked === null ? openaiFormat : STREAM_FORMATS[asked].errors
  const allowed = await authorize(context, request, response, url, id, "read", errors)
  if (allowed === undefined) return
  const { found } = allowed
  await sendStreamAfterCursor(context, request, response, found, STREAM_FORMATS[asked ?? found.meta.format])
}

/**
 * `POST /v1/generations/{id}/cancel`: stops the generation on whichever node runs it, waits a
 * moment (`cancelWaitMs`) for it to end, and answers its state: 200 once ended, 202 if it is
 * still stopping. On a full store it is stopped all the same, but neither its stop nor its end can
 * be stored: a 507 says so.
 */
export async function cancelGeneration(
  context: AIContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  id: string,
): Promise<void> {
  const allowed = await authorize(context, request, response, url, id, "cancel", openaiFormat)
  if (allowed === undefined) return
  const { found } = allowed
  if (!found.head.closed) {
    const ended = untilClosed(context, found.log)
    try {
      await context.generations.cancel(id)
    } catch (error) {
      if (!(error instanceof StorageFullError)) throw error
      context.metrics.refused("engine_full")
      sendFormatError(
        response,
        openaiFormat,
        507,
        `Generation ${id} was told to stop (the node running it aborts its upstream request), but the AI endpoints' ${error.engine} engine has no room: ${error.store} is full, so neither its stop nor its end is stored, and it reads as running until there is room again (an operator can ${error.remedy}).`,
      )
      return
    }
    await ended
  }
  const now = await findGeneration(context.engine, id)
  if (now === undefined) {
    sendFormatError(response, openaiFormat, 404, `No generation ${id} here (it may have expired).`, {
      code: "not_found",
    })
    return
  }
  sendJson(response, now.head.closed ? 200 : 202, stateBody(now, await readEnd(context.engine, now)))
}

/** Resolves when the log closes, or after `cancelWaitMs`, whichever comes first. */
async function untilClosed(context: AIContext, log: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  let stop = (): void => {}
  const closed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, context.cancelWaitMs)
    void follow(context.engine, log, undefined, { onEnd: () => resolve() }).then((follower) => {
      stop = () => follower.stop()
      return follower.start(
        () => true,
        () => Promise.resolve(),
      )
    }, resolve)
  })
  await closed
  clearTimeout(timer)
  stop()
}

/** `GET /v1/models`: the configured models, in OpenAI's list format. */
export async function listModels(
  context: AIContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
): Promise<void> {
  try {
    await context.auth.authenticate(request, url, true)
  } catch (error) {
    if (sendClientError(response, openaiFormat, error)) return
    throw error
  }
  const data = [...context.models.values()].map((model) => ({
    id: model.name,
    object: "model",
    created: 0,
    owned_by: model.provider.kind,
  }))
  sendJson(response, 200, { object: "list", data })
}
