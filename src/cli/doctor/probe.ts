import { randomUUID } from "node:crypto"
import { request as httpRequest } from "node:http"
import { request as httpsRequest } from "node:https"
import { setTimeout as sleep } from "node:timers/promises"
import { describeFailure, type TokenSource } from "../http-errors.js"
import { joinHeaders } from "./connect.js"
import type { ProbeRun, SentProbe } from "./evidence.js"
import { describeError } from "./observe.js"

/** How many probe events the doctor publishes on a Mercure hub. */
export const PROBE_COUNT = 5

/** Where and how to publish the probes. */
export interface ProbeSettings {
  /** The hub URL (no query): publishes are POSTed to it. */
  readonly hubUrl: string
  readonly token: string | undefined
  /** Where the token came from, for a refusal's message. */
  readonly tokenSource: TokenSource | undefined
  /** The topic, unique to this run, so no other subscriber sees the probes and no other update counts. */
  readonly topic: string
  /** Time between two probes: spread over the watch, so a buffering path shows as bunched arrivals. */
  readonly intervalMs: number
  readonly timeoutMs: number
  /** Accept any TLS certificate, as the watch does (`-k`). */
  readonly insecure: boolean
}

/** A topic no one else uses. */
export function probeTopic(): string {
  return `urn:herald:doctor:${randomUUID()}`
}

/**
 * Publishes {@link PROBE_COUNT} updates on the probe topic, one every `intervalMs` starting one
 * interval after the call, and records when each was sent on the watch's clock `now`. Stops at
 * the first refusal, which it reports.
 */
export async function publishProbes(settings: ProbeSettings, now: () => number): Promise<ProbeRun> {
  const sent: SentProbe[] = []
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" }
  if (settings.token !== undefined) headers.authorization = `Bearer ${settings.token}`
  for (let index = 1; index <= PROBE_COUNT; index++) {
    await sleep(settings.intervalMs)
    const data = `herald doctor probe ${index}/${PROBE_COUNT}`
    const sentMs = now()
    try {
      const body = new URLSearchParams({ topic: settings.topic, data }).toString()
      const response = await post(settings.hubUrl, headers, body, settings)
      if (response.status < 200 || response.status > 299)
        return {
          topic: settings.topic,
          sent,
          error: describeFailure(response, response.text, settings.tokenSource),
        }
    } catch (error) {
      return { topic: settings.topic, sent, error: describeError(error) }
    }
    sent.push({ data, sentMs })
  }
  return { topic: settings.topic, sent, error: undefined }
}

/** An answer to {@link post}: what `describeFailure` reads of a fetch `Response`, and the body. */
interface PostAnswer {
  readonly status: number
  readonly statusText: string
  readonly headers: Headers
  readonly text: string
}

/**
 * POSTs `body` to `url` with node:http(s) rather than fetch, whose certificate check cannot be
 * turned off without a dependency: with `insecure`, a self-signed hub takes the probes the watch
 * already reads.
 */
function post(
  url: string,
  headers: Readonly<Record<string, string>>,
  body: string,
  { timeoutMs, insecure }: Pick<ProbeSettings, "timeoutMs" | "insecure">,
): Promise<PostAnswer> {
  const target = new URL(url)
  const send = target.protocol === "https:" ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const request = send(
      target,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        ...(target.protocol === "https:" ? { rejectUnauthorized: !insecure } : {}),
      },
      (response) => {
        const chunks: Buffer[] = []
        response.on("data", (chunk: Buffer) => chunks.push(chunk))
        response.on("error", (error) => {
          clearTimeout(deadline)
          reject(error)
        })
        response.on("end", () => {
          clearTimeout(deadline)
          resolve({
            status: response.statusCode ?? 0,
            statusText: response.statusMessage ?? "",
            headers: new Headers(joinHeaders(response.headers)),
            text: Buffer.concat(chunks).toString("utf8"),
          })
        })
      },
    )
    // The whole exchange, as fetch's signal bounded it: not only a quiet socket.
    const deadline = setTimeout(
      () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    )
    request.on("error", (error) => {
      clearTimeout(deadline)
      reject(error)
    })
    request.end(body)
  })
}
