import { randomUUID } from "node:crypto"
import { setTimeout as sleep } from "node:timers/promises"
import { describeFailure } from "../http-errors.js"
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
  readonly tokenSource: string | undefined
  /** The topic, unique to this run, so no other subscriber sees the probes and no other update counts. */
  readonly topic: string
  /** Time between two probes: spread over the watch, so a buffering path shows as bunched arrivals. */
  readonly intervalMs: number
  readonly timeoutMs: number
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
      const response = await fetch(settings.hubUrl, {
        method: "POST",
        headers,
        body: new URLSearchParams({ topic: settings.topic, data }),
        signal: AbortSignal.timeout(settings.timeoutMs),
      })
      const text = await response.text()
      if (!response.ok)
        return { topic: settings.topic, sent, error: describeFailure(response, text, settings.tokenSource) }
    } catch (error) {
      return { topic: settings.topic, sent, error: describeError(error) }
    }
    sent.push({ data, sentMs })
  }
  return { topic: settings.topic, sent, error: undefined }
}
