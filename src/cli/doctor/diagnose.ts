import type { TokenSource } from "../http-errors.js"
import { runChecks } from "./checks/index.js"
import type { Evidence, ProbeRun } from "./evidence.js"
import { observe, type WatchHooks } from "./observe.js"
import { PROBE_COUNT, probeTopic, publishProbes } from "./probe.js"
import { resumeAfter } from "./resume.js"
import type { CheckResult } from "./verdict.js"

/** A Mercure hub to probe end to end: where to publish, and the tokens to publish and subscribe with. */
export interface MercureAccess {
  /** The hub URL without query. */
  readonly hubUrl: string
  readonly publisherToken: string | undefined
  readonly subscriberToken: string | undefined
  /** Where each token came from (`--token`, `the dev secret in …`), for a refusal's message. */
  readonly publisherTokenSource: TokenSource | undefined
  readonly subscriberTokenSource: TokenSource | undefined
}

/** What to diagnose and for how long. */
export interface DoctorSettings {
  readonly url: URL
  /** How long to watch the stream. */
  readonly durationMs: number
  /** The longest wait for headers, and for the replay after resuming. */
  readonly timeoutMs: number
  readonly insecure: boolean
  /** Set for a Mercure hub: the doctor then subscribes to a topic of its own and publishes probes on it. */
  readonly mercure: MercureAccess | undefined
  readonly onProgress?: WatchHooks["onProgress"]
}

/** The evidence and every check's verdict. */
export interface Diagnosis extends Evidence {
  readonly checks: readonly CheckResult[]
}

/**
 * Watches the stream for the duration (publishing probes meanwhile on a Mercure hub), resumes
 * it once with `Last-Event-ID`, and judges what it saw.
 */
export async function diagnose(settings: DoctorSettings): Promise<Diagnosis> {
  const { mercure } = settings
  const topic = probeTopic()
  const url = mercure === undefined ? settings.url : subscriptionUrl(mercure.hubUrl, topic)
  const headers: Record<string, string> =
    mercure?.subscriberToken === undefined ? {} : { authorization: `Bearer ${mercure.subscriberToken}` }
  const watch = {
    headers,
    timeoutMs: settings.timeoutMs,
    insecure: settings.insecure,
    durationMs: settings.durationMs,
  }
  let probing: Promise<ProbeRun> | undefined
  const observation = await observe(url, watch, {
    onOpen: (now) => {
      if (mercure === undefined) return
      // Spread over the watch, the last probe one interval before its end, so it has time to arrive.
      const intervalMs = Math.floor(settings.durationMs / (PROBE_COUNT + 1))
      probing = publishProbes(
        {
          hubUrl: mercure.hubUrl,
          token: mercure.publisherToken,
          tokenSource: mercure.publisherTokenSource,
          topic,
          intervalMs,
          timeoutMs: settings.timeoutMs,
          insecure: settings.insecure,
        },
        now,
      )
    },
    ...(settings.onProgress === undefined ? {} : { onProgress: settings.onProgress }),
  })
  const probe = await probing
  const resume =
    observation.status === 200
      ? await resumeAfter(observation, { ...watch, durationMs: settings.timeoutMs })
      : undefined
  const evidence: Evidence = {
    observation,
    probe,
    resume,
    mercure: mercure !== undefined,
    ...(mercure?.subscriberTokenSource === undefined
      ? {}
      : { subscriberTokenSource: mercure.subscriberTokenSource }),
  }
  return { ...evidence, checks: runChecks(evidence) }
}

/** The hub's subscription URL for the probe topic alone. */
function subscriptionUrl(hubUrl: string, topic: string): URL {
  const url = new URL(hubUrl)
  // draft-08's match=, and the topic= of hubs before it: a hub reads the one it knows (Herald
  // with legacy support, both: an update goes once however many matchers match it).
  url.search = new URLSearchParams([
    ["match", topic],
    ["topic", topic],
  ]).toString()
  return url
}
