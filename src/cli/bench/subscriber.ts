import { createParser } from "../../protocol/index.js"
import { type OpenedStream, openStream } from "../doctor/connect.js"
import type { TokenSource } from "../http-errors.js"
import type { ErrorTally } from "./error-tally.js"
import { type Failure, refusal, requestFailure } from "./failures.js"

/**
 * Wait before reconnecting a dropped stream. Short on purpose: the hub's `retry` hint is meant
 * to spread browsers out; a bench wants its subscribers back (and resumed) at once.
 */
const RECONNECT_DELAY_MS = 250
/** Longest wait for a subscription's response headers. */
const HEADERS_TIMEOUT_MS = 10_000

/** What one subscriber needs. */
export interface SubscriberSettings {
  /** The subscription URL (hub URL with its matcher). */
  readonly url: URL
  readonly token: string | undefined
  readonly tokenSource: TokenSource | undefined
  readonly errors: ErrorTally
  /** Called with the data of every event received, as it arrives. */
  onData(data: string): void
}

/**
 * One real SSE connection, kept cheap (a raw GET and Herald's parser, no EventSource object) so
 * that thousands of them do not make the load generator the bottleneck. Like an EventSource, it
 * reconnects after a drop or a network error and resumes with `Last-Event-ID`, and gives up on a
 * refusal (a status other than 200, or not an event stream).
 */
export class BenchSubscriber {
  /** Times the stream dropped and was reopened (or is being reopened). */
  reconnects = 0
  private current: OpenedStream | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private lastEventId = ""
  private stopped = false

  constructor(private readonly settings: SubscriberSettings) {}

  /** Whether the stream is open now. */
  get connected(): boolean {
    return this.current !== undefined
  }

  /**
   * Opens the stream. Resolves once the first attempt settled: true when the stream is open.
   * After a network error it keeps trying in the background until {@link close}.
   */
  start(): Promise<boolean> {
    return this.attempt()
  }

  /** Closes the stream for good: no reconnect, no further data. */
  close(): void {
    this.stopped = true
    clearTimeout(this.retryTimer)
    this.current?.close()
    this.current = undefined
  }

  private async attempt(): Promise<boolean> {
    const headers: Record<string, string> = { accept: "text/event-stream", "cache-control": "no-cache" }
    if (this.settings.token !== undefined) headers.authorization = `Bearer ${this.settings.token}`
    if (this.lastEventId !== "") headers["last-event-id"] = this.lastEventId
    let opened: OpenedStream
    try {
      opened = await openStream(this.settings.url, {
        headers,
        timeoutMs: HEADERS_TIMEOUT_MS,
        insecure: false,
      })
    } catch (error) {
      this.fail(requestFailure("subscribe", error), true)
      return false
    }
    if (this.stopped) {
      opened.close()
      return false
    }
    const type = opened.headers["content-type"]?.split(";")[0]?.trim().toLowerCase()
    if (opened.status !== 200 || type !== "text/event-stream") {
      this.fail(await refusal("subscribe", opened, this.settings.tokenSource), false)
      opened.close()
      return false
    }
    this.current = opened
    const parser = createParser(
      { onEvent: (event) => this.settings.onData(event.data) },
      { lastEventId: this.lastEventId },
    )
    opened.body.on("data", (chunk: Buffer) => parser.feed(chunk))
    const dropped = (failure: Failure) => {
      if (this.current !== opened) return
      this.current = undefined
      this.lastEventId = parser.lastEventId
      opened.close()
      if (this.stopped) return
      this.reconnects++
      this.fail(failure, true)
    }
    opened.body.on("end", () => dropped({ kind: "subscribe: stream ended by the hub", message: "" }))
    opened.body.on("close", () => dropped({ kind: "subscribe: stream closed", message: "" }))
    opened.body.on("error", (error) => dropped(requestFailure("subscribe", error)))
    return true
  }

  private fail(failure: Failure, retry: boolean): void {
    if (this.stopped) return
    this.settings.errors.add(failure.kind, failure.message || failure.kind)
    if (!retry) return
    this.retryTimer = setTimeout(() => void this.attempt(), RECONNECT_DELAY_MS)
  }
}
