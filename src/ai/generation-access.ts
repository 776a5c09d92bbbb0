import type { Grants } from "../auth/grants.js"
import type { AIContext } from "./ai-context.js"
import { generationPath } from "./generation-id.js"
import { type FoundGeneration, findGeneration } from "./generation-state.js"

/** What a generation endpoint does with a generation once found. */
export type Action = "read" | "cancel"

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
  action: Action,
): "allowed" | "forbidden" | "hidden" {
  const path = generationPath(found.id)
  const facts = { owner: found.meta.owner }
  if (grants.can("ai", action, path, facts)) return "allowed"
  return grants.can("ai", "read", path, facts) ? "forbidden" : "hidden"
}
