// One generation as the chat page reads it: created by a POST whose response streams it, or
// followed from a cursor with GET /v1/generations/{id}/stream (after a reload, a dropped
// connection, or in a second tab). Always in OpenAI's format, since a cursor (each event's `id:`)
// is a place in one format's events. Herald's own EventSource sends the token and the cursor.

import { authHeaders, errorMessage, generationState } from "./chat-api.js"
import { EventSource } from "./herald-client.js"

/**
 * A stream silent this long makes the page ask the generation's state: a generation that ended
 * while its stream missed the end is resumed to read it, and the node asked notices a dead node's
 * generation and closes it as interrupted (a follower on an open log would wait on forever).
 */
const SILENCE_MS = 4000

/** A followed stream that drops comes back quickly, through a proxy's 502s while a node dies, within bounds. */
const RECONNECT = {
  delay: 500,
  backoff: 2,
  maxDelay: 5000,
  jitter: 0.2,
  retryOnStatus: true,
  maxAttempts: 20,
}

/** What the terminal event of OpenAI's format says: `[DONE]`, or an error whose type names how it ended. */
const END_OF_ERROR_TYPE = { generation_cancelled: "cancelled", generation_interrupted: "interrupted" }

/**
 * The error type of a stream that ended before its generation did (the node serving it shut down,
 * say, while the generation runs on another): not an end of the generation, a connection to make
 * again, from the cursor.
 */
const STREAM_INTERRUPTED = "stream_interrupted"

/**
 * Whether the page is going away (a reload, a navigation): the unload cuts the page's requests,
 * and a request cut so says nothing of its generation. What the page kept is read again after
 * the reload. A page restored from the back/forward cache shows again.
 */
let leaving = false
addEventListener("pagehide", () => {
  leaving = true
})
addEventListener("pageshow", () => {
  leaving = false
})

/**
 * @typedef {"done" | "cancelled" | "interrupted" | "failed" | "lost"} EndStatus
 * @typedef {"connecting" | "live" | "reconnecting" | "offline"} ConnectionState
 * @typedef {object} StreamEvent
 * @property {string} text           answer text the event adds ("" for none)
 * @property {string} reasoning      reasoning text it adds
 * @property {string | undefined} finishReason
 * @property {string} cursor         the event's id: where a resume starts after it
 * @typedef {object} StreamHandlers
 * @property {(id: string) => void} onId                       the id, as soon as the response head names it
 * @property {(event: StreamEvent) => void} onEvent
 * @property {(state: ConnectionState) => void} onConnection
 * @property {(status: EndStatus, message?: string) => void} onEnd
 * @property {(status: number, message: string) => void} onRefused  401 or 403: the stream stops, a token may help
 * @property {() => void} onRestart  the server lost events the page has (a Redis failover): drop the
 *   answer's text; the answer as it is kept follows from its first event
 */

/** Reads one generation until its terminal event; `close()` leaves it (the generation runs on). */
export class GenerationStream {
  /** @type {StreamHandlers} */
  #handlers
  /** @type {EventSource | undefined} */
  #source
  /** @type {string | undefined} */
  #id
  /** @type {string | undefined} */
  #cursor
  #ended = false
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #silence
  /** Streams interrupted in a row, with no event of the answer between them (see {@link #readOn}). */
  #interruptions = 0
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #pause

  /** @param {StreamHandlers} handlers */
  constructor(handlers) {
    this.#handlers = handlers
  }

  /**
   * Creates a generation (`POST /v1/chat/completions`) and reads its answer. Once the head named
   * the id, a dropped response is followed from the last cursor. The POST carries `key` as its
   * `Idempotency-Key`: the same body sent again with it (after a reload before the head) answers
   * the generation the first one started, from its start, and starts no second one.
   * @param {object} body  an OpenAI Chat Completions request
   * @param {string} key  the turn's key
   */
  create(body, key) {
    this.#open("/v1/chat/completions", {
      method: "POST",
      body: JSON.stringify({ ...body, stream: true }),
      headers: () => ({ "content-type": "application/json", "idempotency-key": key, ...authHeaders() }),
      reconnect: false,
      onResponse: (response) => {
        const id = response.headers.get("herald-generation-id")
        if (id === null || id === "") return
        this.#id = id
        this.#handlers.onId(id)
      },
    })
  }

  /**
   * Follows generation `id` after `cursor` (from its first event without one): what the page
   * already has is never sent again, and nothing after it is skipped.
   * @param {string} id
   * @param {string} [cursor]
   */
  follow(id, cursor) {
    this.#id = id
    this.#cursor = cursor
    this.#open(`/v1/generations/${encodeURIComponent(id)}/stream?format=openai`, {
      headers: authHeaders,
      reconnect: RECONNECT,
      ...(cursor === undefined ? {} : { lastEventId: cursor }),
    })
  }

  /** Follows again from the last cursor, after the connection was given up (`offline`). */
  reconnect() {
    if (this.#id !== undefined && !this.#ended) this.follow(this.#id, this.#cursor)
  }

  /** Stops reading. The generation itself runs on (a Stop is `cancelGeneration`). */
  close() {
    this.#ended = true
    this.#stop()
  }

  /**
   * @param {string} url
   * @param {import("./herald-client.js").EventSourceInit} init
   */
  #open(url, init) {
    this.#stop()
    this.#handlers.onConnection("connecting")
    const source = new EventSource(url, init)
    source.addEventListener("open", () => {
      if (source !== this.#source) return
      this.#handlers.onConnection("live")
      this.#watch()
    })
    source.addEventListener("message", (event) => {
      if (source === this.#source) this.#message(event)
    })
    source.addEventListener("error", (event) => {
      if (source === this.#source)
        this.#error(source, /** @type {any} */ (event).error, init.method === "POST")
    })
    this.#source = source
  }

  /** @param {MessageEvent<string>} event */
  #message(event) {
    this.#watch()
    if (event.data === "[DONE]") return this.#end("done")
    let chunk
    try {
      chunk = JSON.parse(event.data)
    } catch {
      return
    }
    if (chunk?.error !== undefined) {
      const type = String(chunk.error?.type ?? "")
      if (type === STREAM_INTERRUPTED && this.#id !== undefined) return this.#readOn(this.#id)
      return this.#end(
        END_OF_ERROR_TYPE[type] ?? "failed",
        String(chunk.error?.message ?? "the generation failed"),
      )
    }
    const choice = chunk?.choices?.[0]
    const delta = choice?.delta ?? {}
    // An event without an id of its own (the parser repeats the last one) is not the answer
    // going on: a stream's early end sends the parts it closes so (a finish stored without its
    // end), then its stream_interrupted, and a retry's backoff and bound must hold through it.
    if (event.lastEventId !== this.#cursor) this.#interruptions = 0
    this.#cursor = event.lastEventId
    this.#handlers.onEvent({
      // A refusal (structured outputs) is shown as the answer's text.
      text:
        typeof delta.content === "string"
          ? delta.content
          : typeof delta.refusal === "string"
            ? delta.refusal
            : "",
      reasoning: typeof delta.reasoning_content === "string" ? delta.reasoning_content : "",
      finishReason: choice?.finish_reason ?? undefined,
      cursor: event.lastEventId,
    })
  }

  /**
   * @param {EventSource} source
   * @param {{status?: number, body?: string, message?: string} | undefined} failure  the EventSourceError, if any
   * @param {boolean} created  whether this was the POST that created the generation
   */
  #error(source, failure, created) {
    if (source.readyState === EventSource.CONNECTING) {
      this.#handlers.onConnection("reconnecting")
      return
    }
    this.#stop()
    // Cut by the unload: the turn stays as it was kept, and the reload goes on from there.
    if (leaving) return
    const status = failure?.status
    const message = status === undefined ? undefined : errorMessage(status, failure?.body ?? "")
    if (status === 401 || status === 403) {
      this.#ended = true
      this.#handlers.onRefused(status, message ?? "")
    } else if (status === 404) {
      this.#end("lost", "This generation is not kept any more (it expired), or never existed.")
    } else if (status === 410 && this.#id !== undefined && this.#cursor !== undefined) {
      // Resuming after the cursor would join the kept answer to text it no longer holds.
      this.#handlers.onRestart()
      this.follow(this.#id)
    } else if (status !== undefined && (created || status < 500)) {
      this.#end("failed", message)
    } else if (created && this.#id !== undefined) {
      // The response dropped mid-answer (a node died, the network blinked): read on from the log.
      this.#handlers.onConnection("reconnecting")
      this.follow(this.#id, this.#cursor)
    } else if (created) {
      this.#end("failed", "The connection was lost before the answer started.")
    } else {
      this.#handlers.onConnection("offline")
    }
  }

  /**
   * The server ended this stream before the generation's end (`stream_interrupted`): as after a
   * dropped connection, follow generation `id` again from the cursor, through whichever node
   * answers now. At once the first time; a stream interrupted again before any new event (a node
   * still shutting down answers so) is followed again after a wait that grows as a dropped
   * follow's does, and given up (`offline`, the Reconnect button) after as many attempts.
   * @param {string} id
   */
  #readOn(id) {
    this.#stop()
    if (this.#interruptions >= RECONNECT.maxAttempts) {
      this.#interruptions = 0
      this.#handlers.onConnection("offline")
      return
    }
    const delay =
      this.#interruptions === 0
        ? 0
        : Math.min(RECONNECT.maxDelay, RECONNECT.delay * RECONNECT.backoff ** (this.#interruptions - 1))
    this.#interruptions++
    this.#handlers.onConnection("reconnecting")
    this.#pause = setTimeout(() => this.follow(id, this.#cursor), delay)
  }

  /** Re-arms the silence check. */
  #watch() {
    clearTimeout(this.#silence)
    if (this.#ended || this.#id === undefined) return
    this.#silence = setTimeout(() => void this.#checkState(), SILENCE_MS)
  }

  async #checkState() {
    const id = /** @type {string} */ (this.#id)
    try {
      const state = await generationState(id)
      if (this.#ended) return
      if (state.status !== "running") {
        // It ended, but this stream did not say so: read the rest, and the end, from the cursor.
        this.follow(id, this.#cursor)
        return
      }
    } catch (error) {
      if (this.#ended) return
      if (/** @type {any} */ (error).status === 404) {
        this.#end("lost", "This generation is not kept any more (it expired), or never existed.")
        return
      }
    }
    this.#watch()
  }

  #stop() {
    clearTimeout(this.#silence)
    clearTimeout(this.#pause)
    this.#source?.close()
    this.#source = undefined
  }

  /**
   * @param {EndStatus} status
   * @param {string} [message]
   */
  #end(status, message) {
    if (this.#ended) return
    this.#ended = true
    this.#stop()
    this.#handlers.onEnd(status, message)
  }
}
