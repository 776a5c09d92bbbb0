import type { IncomingMessage, ServerResponse } from "node:http"
import { performance } from "node:perf_hooks"
import { bodyPassesBound } from "../auth/json-depth.js"
import { bodyChunks, isMediaType, readBody } from "./body.js"
import type { HubContext } from "./context.js"
import { withEngineRefusal } from "./engine-refusal.js"
import { HttpError } from "./http-error.js"
import { admitPublisher, authorizePublish } from "./publish.js"
import { refuse } from "./refuse.js"
import { sendJson } from "./responses.js"
import type { ResolvedLimits } from "./settings.js"
import type { NewUpdate } from "./update.js"
import { type UpdateDraft, validateUpdate } from "./update-fields.js"

/** Where Herald's batch and streaming publish are answered (outside the Mercure namespace). */
export const BATCH_PUBLISH_PATH = "/herald/v1/publish"

/**
 * Herald's publish for many updates per request, with the same validation and authorization as
 * the form publish:
 * - `application/json`: an array of updates (or `{"updates": [...]}`), stored atomically — all
 *   or none. The answer is `{"ids": [...]}`.
 * - `application/x-ndjson`: one update per line, stored as the lines arrive — for token streams,
 *   where the producer cannot wait for the end. The answer, once the body ends, is
 *   `{"ids": [...]}`; a bad line stops the stream with a 400 whose `ids` lists what was stored
 *   before it, so the publisher knows exactly what landed.
 *
 * An update is `{"topic": "…" | ["…", …], "data"?: "…", "private"?: true, "id"?: "…", "type"?: "…", "retry"?: 1000}`.
 */
export async function publishBatch(
  context: HubContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
) {
  const started = performance.now()
  const cors = context.cors.headersFor(request.headers.origin)
  const ids: string[] = []
  try {
    const { grants } = await admitPublisher(context, request, url)
    const store = async (updates: NewUpdate[]): Promise<void> => {
      authorizePublish(grants, updates)
      const stored = await context.updates.append(updates)
      for (const update of stored) ids.push(update.id)
    }
    if (isMediaType(request, "application/json")) {
      const body = await readBody(request, context.settings.limits)
      await store(parseJsonBatch(utf8Text(body), context))
    } else if (isMediaType(request, "application/x-ndjson")) {
      await streamLines(request, context, store)
    } else {
      throw new HttpError(
        415,
        "Send Content-Type: application/json (an array of updates) or application/x-ndjson (one update per line).",
      )
    }
    context.metrics.published(ids.length, (performance.now() - started) / 1000)
    sendJson(response, 200, { ids }, cors)
  } catch (thrown) {
    const error = withEngineRefusal(context, thrown, "publish")
    if (ids.length > 0 && error instanceof HttpError) {
      // Part of a stream was stored: say which, so nothing is published twice or lost.
      context.metrics.refused(error.status)
      sendJson(
        response,
        error.status,
        { type: "about:blank", title: "Stream stopped", status: error.status, detail: error.message, ids },
        { ...cors, ...error.headers, "cache-control": "no-store" },
        "application/problem+json",
      )
      return
    }
    refuse(context, response, error, cors, "publish")
  }
}

function parseJsonBatch(text: string, context: HubContext): NewUpdate[] {
  checkJsonBounds(text, context.settings.limits, "The body")
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch (error) {
    throw new HttpError(400, `The body is not valid JSON: ${(error as Error).message}.`)
  }
  const list = Array.isArray(document) ? document : (document as { updates?: unknown } | null)?.updates
  if (!Array.isArray(list)) throw new HttpError(400, 'Send a JSON array of updates, or {"updates": [...]}.')
  checkCount(list.length, context)
  return list.map((item, index) =>
    validateUpdate(draftFromJson(item, `update ${index}: `), context.settings, `update ${index}: `),
  )
}

/**
 * Reads an NDJSON body as it arrives, storing the complete lines of each chunk in one append
 * before reading on — so a fast producer is paced by the engine, and memory stays bounded by
 * one line (at most `maxBodyBytes`).
 */
async function streamLines(
  request: IncomingMessage,
  context: HubContext,
  store: (updates: NewUpdate[]) => Promise<void>,
): Promise<void> {
  const { maxBodyBytes, bodyIdleTimeoutMs } = context.settings.limits
  const decoder = new TextDecoder("utf-8", { fatal: true })
  /** The line not yet ended, in the pieces it came in, and its length. */
  let pending: string[] = []
  let pendingLength = 0
  let line = 0
  let count = 0
  const parseLine = (text: string): NewUpdate | undefined => {
    line++
    if (text.trim() === "") return undefined
    checkJsonBounds(text, context.settings.limits, `line ${line}: the line`)
    let item: unknown
    try {
      item = JSON.parse(text)
    } catch (error) {
      throw new HttpError(400, `line ${line}: not valid JSON (${(error as Error).message}).`)
    }
    checkCount(++count, context)
    return validateUpdate(draftFromJson(item, `line ${line}: `), context.settings, `line ${line}: `)
  }
  // The body's end may cut a character in two: the final flush is checked like any chunk.
  const decode = (chunk?: Uint8Array): string => {
    try {
      return chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true })
    } catch {
      throw new HttpError(400, `line ${line + 1}: not valid UTF-8.`)
    }
  }
  for await (const chunk of bodyChunks(request, bodyIdleTimeoutMs)) {
    const text = decode(chunk)
    const end = text.indexOf("\n")
    let lines: string[] = []
    // Only the new text is searched: a long line arriving in many small chunks costs its length once.
    if (end === -1) pending.push(text)
    else {
      lines = [pending.join("") + text.slice(0, end), ...text.slice(end + 1).split("\n")]
      pending = [lines.pop() ?? ""]
    }
    pendingLength = end === -1 ? pendingLength + text.length : (pending[0] as string).length
    if (pendingLength > maxBodyBytes) {
      throw new HttpError(413, `line ${line + lines.length + 1} is longer than ${maxBodyBytes} bytes.`)
    }
    const updates: NewUpdate[] = []
    try {
      for (const text of lines) {
        const update = parseLine(text)
        if (update !== undefined) updates.push(update)
      }
    } finally {
      // The lines before a bad one are good: store them, so the answer's ids cover all of them.
      if (updates.length > 0) await store(updates)
    }
  }
  const last = parseLine(pending.join("") + decode())
  if (last !== undefined) await store([last])
}

/**
 * Refuses JSON text past the publish bounds (`maxBodyDepth`, `maxBodyKeys`, `maxBodyValues`)
 * with a 400, before it is parsed: its parse is the cost they bound (see bodyPassesBound).
 * `subject` names the text in the message.
 */
function checkJsonBounds(text: string, limits: ResolvedLimits, subject: string): void {
  const passed = bodyPassesBound(text, limits)
  if (passed !== undefined) {
    const refusals = {
      depth: `${subject} nests arrays and objects more than ${limits.maxBodyDepth} levels deep (the hub's maxBodyDepth; herald serve's --max-body-depth); send updates that nest less.`,
      keys: `${subject} has an object of more than ${limits.maxBodyKeys} keys (the hub's maxBodyKeys; herald serve's --max-body-keys); send updates with their fields only.`,
      values: `${subject} holds more than ${limits.maxBodyValues} values, array items and object members at any depth (the hub's maxBodyValues; herald serve's --max-body-values); send fewer or smaller updates.`,
    }
    throw new HttpError(400, refusals[passed])
  }
}

function checkCount(count: number, context: HubContext): void {
  const max = context.settings.limits.maxUpdatesPerRequest
  if (count > max) throw new HttpError(413, `Too many updates in one request (at most ${max}); split it.`)
}

/** Reads an update object of a JSON batch; `where` prefixes error messages. */
function draftFromJson(item: unknown, where: string): UpdateDraft {
  if (typeof item !== "object" || item === null || Array.isArray(item)) {
    throw new HttpError(400, `${where}an update must be a JSON object.`)
  }
  const record = item as Record<string, unknown>
  const string = (name: string): string | undefined => {
    const value = record[name]
    if (value === undefined || value === null) return undefined
    if (typeof value !== "string") throw new HttpError(400, `${where}"${name}" must be a string.`)
    return value
  }
  const topicField = record.topic ?? record.topics
  const topics = typeof topicField === "string" ? [topicField] : topicField
  if (!Array.isArray(topics) || !topics.every((topic) => typeof topic === "string")) {
    throw new HttpError(400, `${where}"topic" must be a string or an array of strings.`)
  }
  const retry = record.retry
  if (retry !== undefined && typeof retry !== "number" && typeof retry !== "string") {
    throw new HttpError(400, `${where}"retry" must be a number of milliseconds.`)
  }
  const privateField = record.private
  if (privateField !== undefined && typeof privateField !== "boolean") {
    throw new HttpError(400, `${where}"private" must be true or false.`)
  }
  return {
    topics,
    data: string("data"),
    private: privateField === true,
    id: string("id"),
    type: string("type"),
    retry: retry === undefined ? undefined : String(retry),
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

/** The body as text; not valid UTF-8 is a 400, as for NDJSON and forms (never U+FFFD in a topic). */
function utf8Text(body: Buffer): string {
  try {
    return strictUtf8.decode(body)
  } catch {
    throw new HttpError(400, "The body is not valid UTF-8.")
  }
}
