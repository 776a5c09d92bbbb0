import type { IncomingMessage, ServerResponse } from "node:http"
import type { Grants } from "../auth/grants.js"
import type { AIContext } from "./ai-context.js"
import { findLiveGeneration, permits } from "./generation-access.js"
import { sendClientError } from "./responses.js"
import { cursorOf, readCursor, sendEventsLost, sendStream } from "./send-stream.js"
import { STREAM_FORMATS } from "./stream-formats.js"

/**
 * `GET /v1/ai-sdk/chat/{chatId}/stream` (`useChat({ resume: true })`, the AI SDK's
 * `reconnectToStream`): the chat's latest generation as a UI message stream. With a cursor of
 * that generation (`Last-Event-ID`, which Herald's transport sends), what follows it, whether
 * the generation still runs or has ended since; without one (the stock transport), the running
 * generation from its start. 204 when there is nothing to resume; 410 for a cursor of the
 * generation's events that its log lost (see `cursorOf`).
 */
export async function resumeChat(
  context: AIContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  chatId: string,
): Promise<void> {
  const format = STREAM_FORMATS["ai-sdk"]
  let grants: Grants
  try {
    grants = await context.auth.authenticate(request, url, false)
  } catch (error) {
    if (sendClientError(response, format.errors, error)) return
    throw error
  }
  const id = await context.chats.latest(grants.subject, chatId)
  const found = id === undefined ? undefined : await findLiveGeneration(context, id)
  // Not readable with this token: as if there were none (ids stay unconfirmed).
  const readable = found !== undefined && permits(grants, found, "read") === "allowed"
  // A cursor of another generation (an earlier answer of the chat) is no reason to refuse.
  const given = readCursor(request)
  const cursor = found === undefined || given === "" ? undefined : cursorOf(given, found)
  if (found === undefined || !readable || (cursor === undefined && found.head.closed)) {
    response.writeHead(204, { "cache-control": "no-store" })
    response.end()
    return
  }
  // Not from the start instead: the client shows the lost events, and would show the rest twice.
  if (cursor === "lost") {
    sendEventsLost(response, format)
    return
  }
  await sendStream(context, request, response, found, format, cursor)
}
