import { toHeaderValue } from "../protocol/header-value.js"
import type { EventSourceInit } from "./types.js"

/** RFC 9110 §9.2.2: methods a client may safely repeat; and QUERY, "safe and idempotent" (RFC 10008). */
const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "QUERY"])

/** Whether a request with this method may be sent again automatically. */
export function isIdempotent(method: string): boolean {
  return IDEMPOTENT_METHODS.has(method.toUpperCase())
}

/**
 * Builds the `fetch` init of one connection attempt, following the spec's request: "mode
 * `cors`, credentials mode per withCredentials, cache mode `no-store`, initiator type
 * `other`", header `Accept: text/event-stream`, and `Last-Event-ID` when it is not empty.
 *
 * `Cache-Control: no-cache` is not set by hand: fetch adds it for cache mode `no-store`, and
 * setting it explicitly would make every cross-origin request a CORS preflight.
 */
export async function buildRequestInit(
  init: EventSourceInit,
  lastEventId: string,
  signal: AbortSignal,
): Promise<RequestInit> {
  const headers = new Headers(typeof init.headers === "function" ? await init.headers() : init.headers)
  headers.set("Accept", "text/event-stream")
  // "If the event source's last event ID string is not the empty string, set `Last-Event-ID`
  // to the last event ID string, encoded as UTF-8." A control but tab (which an id may hold, and
  // a header may not: Node's fetch would refuse every retry) goes as U+FFFD.
  if (lastEventId !== "") headers.set("Last-Event-ID", toHeaderValue(lastEventId))
  const body = typeof init.body === "function" ? await init.body() : init.body
  return {
    method: init.method ?? "GET",
    headers,
    body: body as BodyInit | undefined,
    mode: "cors",
    credentials: init.withCredentials ? "include" : "same-origin",
    cache: "no-store",
    redirect: "follow",
    signal,
  }
}
