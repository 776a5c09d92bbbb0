import type { IncomingMessage } from "node:http"
import { AuthError } from "../auth/errors.js"
import type { Grants } from "../auth/grants.js"
import type { LogHead } from "../engine/engine.js"
import type { AIContext } from "./ai-context.js"
import { generationPath, isGenerationId } from "./generation-id.js"
import { type FoundGeneration, findGeneration } from "./generation-state.js"
import { authRefusal, type Refusal } from "./responses.js"

/** What a request may do to a generation (the `ai` app's grant actions besides `generate`). */
export type GenerationAction = "read" | "cancel"

/**
 * The generation `id` as the engine holds it, closed as `interrupted` first when its node died
 * (whoever notices writes its end), or `undefined`.
 */
export async function findLiveGeneration(
  context: AIContext,
  id: string,
): Promise<FoundGeneration | undefined> {
  const found = await findGeneration(context.engine, id)
  if (found !== undefined && (await context.generations.reapIfOrphaned(id, found.head))) {
    return await findGeneration(context.engine, id)
  }
  return found
}

/**
 * Whether `grants` allow `action` on `found`: `hidden` when they may not even read it (answered
 * like a generation that does not exist: ids are unguessable, and stay unconfirmed).
 */
export function permits(
  grants: Grants,
  found: FoundGeneration,
  action: GenerationAction,
): "allowed" | "forbidden" | "hidden" {
  const path = generationPath(found.id)
  const facts = { owner: found.meta.owner }
  if (grants.can("ai", action, path, facts)) return "allowed"
  return grants.can("ai", "read", path, facts) ? "forbidden" : "hidden"
}

/** The generation a request may act on, or why not. */
export type GenerationAccess =
  | { readonly found: FoundGeneration; readonly grants: Grants }
  | { readonly refusal: Refusal }

/**
 * Authenticates the request, finds generation `id` and checks `action` on it: its creator may
 * act on it with any AI action it holds (docs/authorization.md, rule 4). `apiKeyHeader`: the
 * token may come as `x-api-key`.
 */
export async function checkGenerationAccess(
  context: AIContext,
  request: IncomingMessage,
  url: URL,
  id: string,
  action: GenerationAction,
  apiKeyHeader: boolean,
): Promise<GenerationAccess> {
  let grants: Grants
  try {
    grants = await context.auth.authenticate(request, url, apiKeyHeader)
  } catch (error) {
    if (error instanceof AuthError) return { refusal: authRefusal(error) }
    throw error
  }
  const found = await findLiveGeneration(context, id)
  const verdict = found === undefined ? "hidden" : permits(grants, found, action)
  if (found === undefined || verdict === "hidden") return { refusal: notFound(id) }
  if (verdict === "forbidden") {
    return {
      refusal: {
        status: 403,
        message: `This token does not grant \`${action}\` on this generation.`,
        code: "insufficient_scope",
        headers: {},
      },
    }
  }
  return { found, grants }
}

/** A generation's log, opened for a reader of another protocol (a Durable Stream), or why not. */
export type GenerationLogAccess =
  | {
      readonly log: string
      readonly head: LogHead
      /** Call when a live read begins; call what it returns when it ends (a watched generation runs on). */
      readonly watch: () => () => void
    }
  | { readonly refusal: Refusal }

/**
 * Opens generation `id`'s log for reading, with the same checks as
 * `GET /v1/generations/{id}/stream` (the `read` grant, the token in `Authorization`).
 */
export async function openGenerationLog(
  context: AIContext,
  request: IncomingMessage,
  url: URL,
  id: string,
): Promise<GenerationLogAccess> {
  if (!isGenerationId(id)) return { refusal: notFound(id) }
  const access = await checkGenerationAccess(context, request, url, id, "read", false)
  if ("refusal" in access) return access
  const { log, head } = access.found
  // A reader of a running generation keeps it from being stopped for a disconnect.
  const watch = head.closed ? () => () => {} : () => context.generations.watch(id)
  return { log, head, watch }
}

function notFound(id: string): Refusal {
  return {
    status: 404,
    message: `No generation ${id} here (it may have expired).`,
    code: "not_found",
    headers: {},
  }
}
