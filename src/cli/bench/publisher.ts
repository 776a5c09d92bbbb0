import * as http from "node:http"
import * as https from "node:https"
import type { TokenSource } from "../http-errors.js"
import { type Failure, refusal, requestFailure } from "./failures.js"

/**
 * Connections kept open to the hub for publishing: enough that a slow answer does not hold the
 * next publish at ordinary rates, few enough not to compete with the subscribers for the hub.
 */
const PUBLISH_CONNECTIONS = 16

/** Where and as whom to publish. */
export interface PublisherSettings {
  readonly hubUrl: URL
  readonly token: string | undefined
  readonly tokenSource: TokenSource | undefined
  /** Aborts every publish still in flight (the end of the drain). */
  readonly signal: AbortSignal
}

/**
 * Publishes updates with a form-encoded POST (draft-08 "Publication") over a small pool of
 * kept-alive connections: the way a busy application server publishes.
 */
export class HubPublisher {
  private readonly agent: http.Agent
  private readonly pending = new Set<Promise<unknown>>()

  constructor(private readonly settings: PublisherSettings) {
    const Agent = settings.hubUrl.protocol === "https:" ? https.Agent : http.Agent
    this.agent = new Agent({ keepAlive: true, maxSockets: PUBLISH_CONNECTIONS })
  }

  /** Publishes `data` on `topic`; resolves with undefined once the hub acknowledged it, or with why not. */
  publish(topic: string, data: string): Promise<Failure | undefined> {
    const outcome = this.post(new URLSearchParams({ topic, data }).toString())
    this.pending.add(outcome)
    void outcome.finally(() => this.pending.delete(outcome))
    return outcome
  }

  /** How many publishes await the hub's answer. */
  get inFlight(): number {
    return this.pending.size
  }

  /** Resolves once every publish sent so far has its outcome. */
  async settled(): Promise<void> {
    await Promise.all(this.pending)
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy()
  }

  private post(body: string): Promise<Failure | undefined> {
    const { hubUrl, token, tokenSource, signal } = this.settings
    const headers: Record<string, string> = {
      "content-type": "application/x-www-form-urlencoded",
      "content-length": String(Buffer.byteLength(body)),
    }
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    const send = hubUrl.protocol === "https:" ? https.request : http.request
    return new Promise((resolve) => {
      const request = send(hubUrl, { method: "POST", headers, agent: this.agent, signal })
      request.on("response", (response) => {
        if (response.statusCode !== undefined && response.statusCode >= 200 && response.statusCode < 300) {
          // Drained, so the connection goes back to the pool.
          response.resume()
          response.on("end", () => resolve(undefined))
          response.on("error", (error) => resolve(requestFailure("publish", error)))
        } else {
          void refusal(
            "publish",
            { status: response.statusCode ?? 0, headers: response.headers, body: response },
            tokenSource,
          ).then(resolve)
        }
      })
      request.on("error", (error) => resolve(requestFailure("publish", error)))
      request.end(body)
    })
  }
}
