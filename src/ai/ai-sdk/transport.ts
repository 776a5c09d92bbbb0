import {
  asSchema,
  DefaultChatTransport,
  type HttpChatTransportInitOptions,
  type UIMessage,
  type UIMessageChunk,
  uiMessageChunkSchema,
} from "ai"
import { createParser } from "../../protocol/index.js"
import { isStreamInterrupted } from "../stream-interrupted.js"
import { MessageReplay } from "./message-replay.js"
import { type ChatStorage, defaultChatStorage, SavedReplays } from "./saved-replays.js"

/** Where Herald serves the AI SDK's chat backend. */
export const DEFAULT_CHAT_API = "/v1/ai-sdk/chat"

type SendOptions<UI_MESSAGE extends UIMessage> = Parameters<
  DefaultChatTransport<UI_MESSAGE>["sendMessages"]
>[0]
type ReconnectOptions<UI_MESSAGE extends UIMessage> = Parameters<
  DefaultChatTransport<UI_MESSAGE>["reconnectToStream"]
>[0]

/** Options of {@link HeraldChatTransport}: `DefaultChatTransport`'s, and what Stop does. */
export type HeraldChatTransportOptions<UI_MESSAGE extends UIMessage> =
  HttpChatTransportInitOptions<UI_MESSAGE> & {
    /**
     * Whether `stop()` cancels the generation on the server (`POST /v1/generations/{id}/cancel`,
     * with the request's headers and credentials), so the model stops at once: the one a request
     * posted, or the one a resume reads. Without it, a stop is a disconnect and the server's
     * disconnect grace decides. Default `true`.
     */
    readonly stopCancels?: boolean
    /**
     * Where the generations are: `{generationsApi}/{id}/cancel` is the cancel endpoint. Default:
     * `api` with its trailing `/ai-sdk/chat` replaced by `/generations` (`/v1/generations`).
     */
    readonly generationsApi?: string
    /**
     * Where each chat's cursor and the chunks of its message so far are kept, so that a reloaded
     * page resumes from the cursor too (see saved-replays.ts). Default: the page's
     * `sessionStorage` (none outside a browser); `null`: memory only, and a reloaded page gets
     * the running answer from its start.
     */
    readonly storage?: ChatStorage | null
  }

/** Which chat a response stream belongs to, and whether it continues after a cursor. */
interface Binding {
  replay: MessageReplay
  afterCursor: boolean
  /** Once known: the chat's id, under which its replay is saved. */
  chatId: string | undefined
}

/**
 * A `ChatTransport` for `useChat` that resumes from where it was cut, not from the start.
 *
 * Herald gives every event of the UI message stream an `id:`. This transport remembers, per chat,
 * the id of the last chunk the chat took, and `reconnectToStream` (`resumeStream()`, or
 * `useChat({ resume: true })`) sends it as `Last-Event-ID`: Herald sends only what follows. The
 * chat's message is rebuilt locally from the chunks the transport already had (merged), then
 * continued, so no text is fetched or shown twice. The cursor and those chunks are kept in the
 * page's `sessionStorage` as well (the `storage` option), so a reloaded page resumes from the
 * cursor too; without one, Herald sends the running answer from its start, as with the stock
 * transport. Both are kept only while there may be something to resume: once the answer ended or
 * was stopped, or none runs (204), they are dropped, and a later resume finds nothing.
 *
 * `stop()` cancels the generation on the server (unless `stopCancels: false`), whether the chat
 * posted it or resumed it: a stock transport's stop only drops the connection, and the model runs
 * on (and a reload brings the answer back). A stop before the answer's head (which Herald holds
 * for the model's first answer) ends the chat's request at once and cancels once the head names
 * the generation; such a stop is kept in the storage until then, so a page reloaded meanwhile
 * sends the cancel on its resume (which the resume's head names) and resumes nothing. A resume
 * the chat replaces with another is no stop.
 *
 * Everything else is `DefaultChatTransport`'s (headers, body, credentials, fetch, the `prepare*`
 * hooks); `api` defaults to `/v1/ai-sdk/chat`. A failure while reading a response is reported as
 * a network error (`TypeError`), which the AI SDK treats as a disconnect to resume from; so is a
 * stream the server ended before the answer's end, the generation running on (its error part of
 * `stream_interrupted`: the node serving it shut down, say in a rolling deploy), where a stock
 * transport shows an error.
 */
export class HeraldChatTransport<
  UI_MESSAGE extends UIMessage = UIMessage,
> extends DefaultChatTransport<UI_MESSAGE> {
  readonly #replays = new Map<string, MessageReplay>()
  readonly #bindings = new WeakMap<ReadableStream<UIMessageChunk>, Binding>()
  readonly #saved: SavedReplays
  readonly #stopCancels: boolean
  /**
   * Per chat, the resume aborted a moment ago, while it is not yet known whether that was a stop:
   * the AI SDK aborts a chat's resume when it starts another (`resumeStream()` again, React's
   * double effect of `resume: true`), which must not cancel the answer.
   */
  readonly #abortedResumes = new Map<string, { replaced: boolean }>()
  /**
   * Per chat request's signal, what to do once the answer's head came after a stop (the cancel
   * sent, or nothing to cancel): forget the chat's pending stop (see {@link sendMessages}).
   */
  readonly #stoppedHeads: WeakMap<AbortSignal, () => void>

  constructor(options: HeraldChatTransportOptions<UI_MESSAGE> = {}) {
    const { stopCancels = true, generationsApi, storage, ...rest } = options
    const api = rest.api ?? DEFAULT_CHAT_API
    const fetchFn = rest.fetch ?? ((input, init) => globalThis.fetch(input, init))
    const stoppedHeads = new WeakMap<AbortSignal, () => void>()
    super({
      ...rest,
      api,
      ...(stopCancels
        ? { fetch: cancellingOnAbort(fetchFn, generationsApi ?? generationsApiOf(api), stoppedHeads) }
        : {}),
      // A resumed stream starts with the message so far (replayed here, or sent from its start by
      // Herald), so the chat must start the message over on its first `start` chunk.
      resumeStreamIsReplay: true,
    })
    this.#saved = new SavedReplays(storage === undefined ? defaultChatStorage() : (storage ?? undefined))
    this.#stopCancels = stopCancels
    this.#stoppedHeads = stoppedHeads
  }

  override async sendMessages(options: SendOptions<UI_MESSAGE>): Promise<ReadableStream<UIMessageChunk>> {
    const { chatId, abortSignal } = options
    // A new request of the chat: an earlier answer's pending stop is no longer the chat's to send.
    this.#saved.stopSent(chatId)
    let stream: ReadableStream<UIMessageChunk>
    try {
      stream = await super.sendMessages(options)
    } catch (error) {
      if (this.#stopCancels && abortSignal?.aborted === true) {
        // Stopped before the head named the generation: the cancel waits for the head in the
        // background, which a reload ends. Kept, so that the next page's resume sends it instead.
        this.#saved.stopPending(chatId)
        this.#stoppedHeads.set(abortSignal, () => this.#saved.stopSent(chatId))
      }
      throw error
    }
    const replay = new MessageReplay()
    this.#replays.set(options.chatId, replay)
    this.#bind(stream, { replay, afterCursor: false, chatId: options.chatId })
    return stream
  }

  override async reconnectToStream(
    options: ReconnectOptions<UI_MESSAGE>,
  ): Promise<ReadableStream<UIMessageChunk> | null> {
    // The SDK aborted the chat's resume just before asking this one: that was no stop.
    const aborted = this.#abortedResumes.get(options.chatId)
    if (aborted !== undefined) aborted.replaced = true
    if (this.#stopCancels && this.#saved.stopIsPending(options.chatId)) return this.#sendPendingStop(options)
    const abortSignal = this.#stopCancels
      ? this.#stopSignal(options.chatId, options.abortSignal)
      : options.abortSignal
    let replay =
      this.#replays.get(options.chatId) ?? (await this.#saved.load(options.chatId)) ?? new MessageReplay()
    let cursor = replay.cursor
    const reconnect = (after: string | undefined) => {
      const headers = new Headers(options.headers)
      if (after !== undefined) headers.set("last-event-id", after)
      return super.reconnectToStream({ ...options, abortSignal, headers: Object.fromEntries(headers) })
    }
    let stream: ReadableStream<UIMessageChunk> | null
    try {
      stream = await reconnect(cursor)
    } catch (error) {
      if (cursor === undefined || !eventsLost(error)) throw error
      // The server lost events this chat shows (a Redis failover, a 410): the answer as kept, from
      // its start, which the chat starts the message over for (resumeStreamIsReplay).
      this.#saved.ended(options.chatId)
      replay = new MessageReplay()
      cursor = undefined
      stream = await reconnect(undefined)
    }
    if (stream === null) {
      // No answer runs for the chat (204): nothing to resume from this cursor again.
      this.#ended(options.chatId, replay)
      return null
    }
    this.#replays.set(options.chatId, replay)
    this.#bind(stream, { replay, afterCursor: cursor !== undefined, chatId: options.chatId })
    return stream
  }

  /**
   * Chat `chatId` was stopped before its answer's head, and the page went away before the head
   * named the generation (a reload): the resume's head names it now, the cancel is sent, and
   * nothing is resumed (the stopped answer does not come back).
   */
  async #sendPendingStop(options: ReconnectOptions<UI_MESSAGE>): Promise<null> {
    const { chatId } = options
    // Aborted once the head came: the cancelling fetch cancels the generation the head names. The
    // stop stays kept until then, so a page reloaded again meanwhile still sends it.
    const stop = new AbortController()
    try {
      const stream = await super.reconnectToStream({ ...options, abortSignal: stop.signal })
      stop.abort()
      await stream?.cancel().catch(() => {})
    } catch {
      // No head, or an error's: nothing named to cancel.
    }
    this.#saved.stopSent(chatId)
    this.#ended(chatId, this.#replays.get(chatId) ?? new MessageReplay())
    return null
  }

  protected override processResponseStream(
    stream: ReadableStream<Uint8Array<ArrayBufferLike>>,
  ): ReadableStream<UIMessageChunk> {
    // The chat is bound once super's call returns, before anyone reads the stream.
    const binding: Binding = { replay: new MessageReplay(), afterCursor: false, chatId: undefined }
    const chunks = chunkStream(stream, binding, this.#saved, (chatId, replay) => this.#ended(chatId, replay))
    this.#bindings.set(chunks, binding)
    return chunks
  }

  /**
   * A signal for a resume of chat `chatId` that aborts a moment after `signal` does: with a
   * {@link replacedReason} when the chat asked for another resume meanwhile (the SDK aborts the
   * resume it replaces), so that only a stop cancels the answer.
   */
  #stopSignal(chatId: string, signal: AbortSignal | undefined): AbortSignal | undefined {
    if (signal === undefined) return undefined
    const stop = new AbortController()
    const aborted = () => {
      const mark = { replaced: false }
      this.#abortedResumes.set(chatId, mark)
      setTimeout(() => {
        if (this.#abortedResumes.get(chatId) === mark) this.#abortedResumes.delete(chatId)
        stop.abort(mark.replaced ? replacedReason() : signal.reason)
      }, 0)
    }
    if (signal.aborted) aborted()
    else signal.addEventListener("abort", aborted, { once: true })
    return stop.signal
  }

  /**
   * Chat `chatId` has nothing to resume from `replay` (its answer ended, was stopped, or none
   * runs): forgotten in memory, unless the chat has another since, and in the storage.
   */
  #ended(chatId: string, replay: MessageReplay): void {
    if (this.#replays.get(chatId) === replay) this.#replays.delete(chatId)
    this.#saved.ended(chatId)
  }

  #bind(stream: ReadableStream<UIMessageChunk>, binding: Binding): void {
    const pending = this.#bindings.get(stream)
    if (pending === undefined) return
    pending.replay = binding.replay
    pending.afterCursor = binding.afterCursor
    pending.chatId = binding.chatId
  }
}

type FetchFunction = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>

/** The reasons of the aborts of resumes that another resume replaced (no stop). */
const replacedReasons = new WeakSet<object>()

/** An abort's reason saying that another resume of the chat replaced this one. */
function replacedReason(): DOMException {
  const reason = new DOMException("another resume of the chat replaced this one", "AbortError")
  replacedReasons.add(reason)
  return reason
}

/**
 * How long a request stopped before its answer's head waits for it, to learn the generation to
 * cancel, ms: Herald holds the head of a new answer up to its `headWaitMs` (2 s by default) for
 * the model's first answer.
 */
const STOP_HEAD_WAIT_MS = 10_000

/**
 * `fetchFn`, and when a chat request's signal aborts, a cancel of the generation Herald names in
 * the answer's head (the `herald-generation-id` of a POST's answer or of a resume's), with the
 * request's headers and credentials, unless another resume replaced this one. The caller is
 * answered at once with the abort, but the request itself runs on until its head came (within
 * {@link STOP_HEAD_WAIT_MS}), so that a stop before the model's first token cancels too; its body
 * is dropped then. A failed cancel changes nothing the chat shows: the stop already happened
 * there.
 */
function cancellingOnAbort(
  fetchFn: FetchFunction,
  generationsApi: string,
  stoppedHeads: WeakMap<AbortSignal, () => void>,
): FetchFunction {
  return (input, init) => {
    const signal = init?.signal
    if (init === undefined || signal == null) return fetchFn(input, init)
    if (signal.aborted) return Promise.reject(signal.reason)
    const cancel = (id: string) => {
      const headers = new Headers(init.headers)
      headers.delete("content-type")
      headers.delete("last-event-id")
      fetchFn(`${generationsApi}/${encodeURIComponent(id)}/cancel`, {
        method: "POST",
        headers,
        ...(init.credentials === undefined ? {} : { credentials: init.credentials }),
      }).then(
        (answer) => answer.body?.cancel(),
        () => {},
      )
    }
    const request = new AbortController()
    const answered = fetchFn(input, { ...init, signal: request.signal })
    const stop = () => {
      const bound = setTimeout(() => request.abort(signal.reason), STOP_HEAD_WAIT_MS)
      answered.then(
        (response) => {
          clearTimeout(bound)
          const id = response.headers.get("herald-generation-id")
          if (id !== null && !replacedReasons.has(signal.reason)) cancel(id)
          stoppedHeads.get(signal)?.()
          request.abort(signal.reason)
        },
        () => clearTimeout(bound),
      )
    }
    signal.addEventListener("abort", stop, { once: true })
    return new Promise<Response>((resolve, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), { once: true })
      answered.then(resolve, reject)
    })
  }
}

/** `…/v1/generations` for `…/v1/ai-sdk/chat` (Herald's paths side by side); else `/v1/generations` on the api's origin. */
function generationsApiOf(api: string): string {
  const chatPath = /\/ai-sdk\/chat\/?$/
  if (chatPath.test(api)) return api.replace(chatPath, "/generations")
  return `${/^https?:\/\/[^/]+/i.exec(api)?.[0] ?? ""}/v1/generations`
}

/** One event of the response: its chunk and its `id:`. */
interface ChunkEvent {
  readonly chunk: UIMessageChunk
  readonly id: string | undefined
}

/**
 * The response's chunks, each recorded as the chat takes it: pulled one at a time (no read-ahead
 * queue), so the cursor never passes a chunk the chat did not get, even when the response is
 * cut. A response that continues after a cursor is preceded by the message so far.
 */
function chunkStream(
  bytes: ReadableStream<Uint8Array<ArrayBufferLike>>,
  binding: Binding,
  saved: SavedReplays,
  ended: (chatId: string, replay: MessageReplay) => void,
): ReadableStream<UIMessageChunk> {
  const schema = asSchema(uiMessageChunkSchema)
  const reader = bytes.getReader()
  const parsed: { data: string; id: string | undefined }[] = []
  let lastId = ""
  const parser = createParser({
    onEvent: (event) => {
      // The parser repeats the last id on an event without one: Herald gives each its own.
      const own = event.lastEventId !== lastId && event.lastEventId !== ""
      lastId = event.lastEventId
      if (event.data !== "[DONE]") parsed.push({ data: event.data, id: own ? event.lastEventId : undefined })
    },
  })
  /** The response's next event, its `id:` only if it had one of its own. */
  const read = async (): Promise<ChunkEvent | undefined> => {
    while (parsed.length === 0) {
      let result: ReadableStreamReadResult<Uint8Array>
      try {
        result = await reader.read()
      } catch (error) {
        if (!isAbort(error)) throw cut(error)
        // Stopped: nothing to resume.
        if (binding.chatId !== undefined) ended(binding.chatId, binding.replay)
        throw error
      }
      if (result.done) return undefined
      parser.feed(result.value)
    }
    const event = parsed.shift() as { data: string; id: string | undefined }
    const value: unknown = JSON.parse(event.data)
    const validation = await schema.validate?.(value)
    if (validation !== undefined && !validation.success) throw validation.error
    return { chunk: (validation === undefined ? value : validation.value) as UIMessageChunk, id: event.id }
  }
  /** Cut: what the chat has is what a resume, in this page or a reloaded one, starts from. */
  const cut = (error: unknown): unknown => {
    saved.flush()
    return asNetworkError(error)
  }

  // Every event of an answer Herald streams has an id; those without, once ids came (or after a
  // cursor), are the stream's early end: the parts it closes, then its error. They are held until
  // that error says whether the answer goes on.
  let ids = false
  const held: ChunkEvent[] = []
  let released: ChunkEvent[] = []
  const next = async (): Promise<ChunkEvent | undefined> => {
    for (;;) {
      const ready = released.shift()
      if (ready !== undefined) return ready
      const event = await read()
      if (event === undefined) {
        if (held.length === 0) return undefined
        released = held.splice(0)
      } else if (
        event.id === undefined &&
        event.chunk.type === "error" &&
        isStreamInterrupted(event.chunk.errorText)
      ) {
        // Not the answer's end: the server's stream stopped before it (its node shut down, the
        // reader fell behind) and the generation runs on. A cut, which the chat resumes.
        reader.cancel().catch(() => {})
        throw cut(new Error(event.chunk.errorText))
      } else if (event.id === undefined && (ids || binding.afterCursor) && event.chunk.type !== "error") {
        held.push(event)
      } else {
        if (event.id !== undefined) ids = true
        released = [...held.splice(0), event]
      }
    }
  }

  let local: UIMessageChunk[] | undefined
  let ahead: ChunkEvent | undefined
  return new ReadableStream<UIMessageChunk>(
    {
      async pull(controller) {
        if (local === undefined) {
          ahead = await next()
          // Herald answers from the start (a `start` chunk) when the cursor is not of the
          // chat's latest answer: then there is nothing to replay.
          local = binding.afterCursor && ahead?.chunk.type !== "start" ? binding.replay.chunks() : []
        }
        const replayed = local.shift()
        if (replayed !== undefined) {
          controller.enqueue(replayed)
          return
        }
        const event = ahead ?? (await next())
        ahead = undefined
        if (event === undefined) {
          if (binding.chatId !== undefined) ended(binding.chatId, binding.replay)
          controller.close()
          return
        }
        controller.enqueue(event.chunk)
        binding.replay.record(event.chunk, event.id)
        if (binding.chatId !== undefined) saved.changed(binding.chatId, binding.replay)
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  )
}

/** What the AI SDK recognizes as a disconnect (a `TypeError` naming the network), unless it is an abort. */
function asNetworkError(error: unknown): unknown {
  if (isAbort(error)) return error
  const reason = error instanceof Error ? error.message : String(error)
  return new TypeError(`network error while reading the chat's stream: ${reason}`, { cause: error })
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError"
}

/** Whether `error` is the AI SDK's for Herald's 410 `events_lost` (it throws the body as its message). */
function eventsLost(error: unknown): boolean {
  return error instanceof Error && error.message.includes('"events_lost"')
}
