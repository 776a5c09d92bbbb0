import type { Diagnosis } from "./diagnose.js"

/** The report for scripts: the verdicts plus the measurements behind them, on one line. */
export function renderJson(diagnosis: Diagnosis): string {
  const { observation, probe, resume, checks } = diagnosis
  const worst = checks.some((check) => check.verdict === "fail")
    ? "fail"
    : checks.some((check) => check.verdict === "warn")
      ? "warn"
      : "pass"
  return `${JSON.stringify({
    url: observation.url.href,
    verdict: worst,
    response:
      observation.status === undefined
        ? { error: observation.connectError }
        : {
            httpVersion: observation.httpVersion,
            status: observation.status,
            headers: observation.headers,
            // A refusal's reason, as the server gave it (its first 16 KiB).
            body: observation.errorBody,
          },
    timings: { headersMs: observation.headersMs, firstEventMs: observation.events[0]?.atMs },
    watched: {
      ms: observation.watchedMs,
      events: observation.events.length,
      heartbeats: observation.commentsMs.length,
      bytes: observation.chunks.reduce((sum, chunk) => sum + chunk.bytes, 0),
      endedMs: observation.endedMs,
    },
    probe: probe === undefined ? undefined : { topic: probe.topic, sent: probe.sent, error: probe.error },
    resume:
      resume === undefined
        ? undefined
        : {
            after: resume.after,
            expected: resume.expected.length,
            replayed: resume.observation.events.length,
          },
    checks,
  })}\n`
}
