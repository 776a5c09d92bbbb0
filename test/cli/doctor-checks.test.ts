// The doctor's checks on hand-made observations: each threshold on both sides, and the faults
// no loopback server shows in a few seconds (a 60 s silence, repeated or falling ids, a replay
// that repeats or skips). The process test covers the same checks against real servers.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { runChecks } from "../../src/cli/doctor/checks/index.js"
import type { Evidence, ProbeRun, ResumeRun } from "../../src/cli/doctor/evidence.js"
import { NGINX_SSE_DIRECTIVES } from "../../src/cli/doctor/fixes.js"
import type { ArrivedEvent, Observation } from "../../src/cli/doctor/observation.js"

function observation(fields: Partial<Observation> = {}): Observation {
  return {
    url: new URL("http://127.0.0.1/events"),
    connectError: undefined,
    httpVersion: "1.1",
    status: 200,
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform" },
    headersMs: 5,
    chunks: [],
    events: [],
    commentsMs: [],
    retries: [],
    endedMs: undefined,
    bodyError: undefined,
    watchedMs: 20_000,
    ...fields,
  }
}

/** Events `id` 1…n (or no id), arriving at the given times. */
function arrived(times: readonly number[], ids = true): ArrivedEvent[] {
  return times.map((atMs, index) => ({
    event: { type: "message", data: `e${index + 1}`, lastEventId: ids ? String(index + 1) : "" },
    atMs,
  }))
}

function verdicts(evidence: Partial<Evidence> & { observation: Observation }): Record<string, string> {
  const checks = runChecks({ probe: undefined, resume: undefined, ...evidence })
  return Object.fromEntries(checks.map((check) => [check.id, check.verdict]))
}

const every = (stepMs: number, count: number, from = 10) =>
  Array.from({ length: count }, (_, i) => from + i * stepMs)

describe("heartbeat: the longest silence against nginx/ALB's 60 s", () => {
  it("fails at 60 s without a byte, warns from 45 s, passes under it with comments", () => {
    const chunk = (atMs: number) => ({ atMs, bytes: 3 })
    expect(
      verdicts({ observation: observation({ chunks: [chunk(61_000)], watchedMs: 70_000 }) }).heartbeat,
    ).toBe("fail")
    expect(
      verdicts({
        observation: observation({ chunks: [chunk(50_000)], commentsMs: [50_000], watchedMs: 70_000 }),
      }).heartbeat,
    ).toBe("warn")
    const beats = every(15_000, 4)
    expect(
      verdicts({
        observation: observation({ chunks: beats.map(chunk), commentsMs: beats, watchedMs: 60_000 }),
      }).heartbeat,
    ).toBe("pass")
  })

  it("warns when no comment came at all, even if events kept the line busy", () => {
    const times = every(1000, 20)
    expect(
      verdicts({
        observation: observation({
          chunks: times.map((atMs) => ({ atMs, bytes: 9 })),
          events: arrived(times),
        }),
      }).heartbeat,
    ).toBe("warn")
  })
})

describe("ids", () => {
  it("passes distinct ids, warns when none or some are missing, fails on a repeat or a fall", () => {
    const times = every(100, 4)
    expect(verdicts({ observation: observation({ events: arrived(times) }) }).ids).toBe("pass")
    expect(verdicts({ observation: observation({ events: arrived(times, false) }) }).ids).toBe("warn")
    const events = arrived(times)
    const withRepeat = [...events, { ...events[0], atMs: 900 } as ArrivedEvent]
    expect(verdicts({ observation: observation({ events: withRepeat }) }).ids).toBe("fail")
    const falling = arrived(times).map((event, index) => ({
      ...event,
      event: { ...event.event, lastEventId: String(10 - index) },
    }))
    expect(verdicts({ observation: observation({ events: falling }) }).ids).toBe("fail")
    const sharing = arrived(times).map((event) => ({ ...event, event: { ...event.event, lastEventId: "7" } }))
    // The parser keeps the last id: events after the first set none of their own.
    expect(verdicts({ observation: observation({ events: sharing }) }).ids).toBe("warn")
  })
})

describe("bursts", () => {
  it("fails when events come four at a time after a silence, passes when they come one by one", () => {
    const bunched = [0, 1, 2, 3].flatMap((burst) => [0, 1, 2, 3].map((i) => 400 * burst + i))
    expect(verdicts({ observation: observation({ events: arrived(bunched) }) }).bursts).toBe("fail")
    expect(verdicts({ observation: observation({ events: arrived(every(100, 16)) }) }).bursts).toBe("pass")
    expect(verdicts({ observation: observation({ events: arrived(every(100, 3)) }) }).bursts).toBe("skip")
  })

  it("with probes, two that were published apart must not arrive together", () => {
    const probe: ProbeRun = {
      topic: "urn:t",
      sent: [1, 2, 3].map((i) => ({ data: `e${i}`, sentMs: i * 300 })),
      error: undefined,
    }
    expect(verdicts({ observation: observation({ events: arrived([905, 906, 907]) }), probe }).bursts).toBe(
      "fail",
    )
    expect(verdicts({ observation: observation({ events: arrived([305, 606, 907]) }), probe }).bursts).toBe(
      "pass",
    )
  })
})

describe("delivery (probes)", () => {
  const probe: ProbeRun = {
    topic: "urn:t",
    sent: [1, 2].map((i) => ({ data: `e${i}`, sentMs: i * 1000 })),
    error: undefined,
  }
  it("passes under 500 ms, warns up to 2 s, fails beyond or when a probe is missing", () => {
    expect(verdicts({ observation: observation({ events: arrived([1010, 2010]) }), probe }).delivery).toBe(
      "pass",
    )
    expect(verdicts({ observation: observation({ events: arrived([1010, 2600]) }), probe }).delivery).toBe(
      "warn",
    )
    expect(verdicts({ observation: observation({ events: arrived([1010, 4100]) }), probe }).delivery).toBe(
      "fail",
    )
    expect(verdicts({ observation: observation({ events: arrived([1010]) }), probe }).delivery).toBe("fail")
  })
})

describe("resume", () => {
  const first = observation({ events: arrived(every(100, 4)) })
  const resume = (replayed: ArrivedEvent[]): ResumeRun => ({
    after: "2",
    expected: [
      { id: "3", data: "e3" },
      { id: "4", data: "e4" },
    ],
    alreadySeen: ["1", "2"],
    observation: observation({ events: replayed }),
  })
  const replay = (ids: string[]) =>
    ids.map((id) => ({ event: { type: "message", data: `e${id}`, lastEventId: id }, atMs: 1 }))
  it("passes an exact replay; fails a duplicate, a gap, a short replay and silence", () => {
    expect(verdicts({ observation: first, resume: resume(replay(["3", "4"])) }).resume).toBe("pass")
    expect(verdicts({ observation: first, resume: resume(replay(["2", "3"])) }).resume).toBe("fail")
    expect(verdicts({ observation: first, resume: resume(replay(["4"])) }).resume).toBe("fail")
    expect(verdicts({ observation: first, resume: resume(replay(["3"])) }).resume).toBe("fail")
    expect(verdicts({ observation: first, resume: resume([]) }).resume).toBe("fail")
  })
})

describe("retry, headers, timing, HTTP version", () => {
  it("judges the retry hint against 1 s and 60 s", () => {
    expect(verdicts({ observation: observation({ retries: [500] }) }).retry).toBe("warn")
    expect(verdicts({ observation: observation({ retries: [3000] }) }).retry).toBe("pass")
    expect(verdicts({ observation: observation({ retries: [120_000] }) }).retry).toBe("warn")
  })

  it("fails Connection on HTTP/2, warns HTTP/1.1 over HTTPS, warns headers held past 1 s", () => {
    const h2 = observation({ httpVersion: "2", headers: { connection: "keep-alive" } })
    expect(verdicts({ observation: h2 }).connection).toBe("fail")
    const https = observation({ url: new URL("https://example.com/events") })
    expect(verdicts({ observation: https })["http-version"]).toBe("warn")
    expect(verdicts({ observation: observation({ headersMs: 1500 }) }).timing).toBe("warn")
  })

  it("fails a 204 and any non-200, and a missing Cache-Control no-transform warns", () => {
    expect(verdicts({ observation: observation({ status: 204 }) }).response).toBe("fail")
    expect(
      verdicts({ observation: observation({ headers: { "content-type": "text/event-stream" } }) })[
        "cache-control"
      ],
    ).toBe("warn")
  })
})

describe("a response that is not 200: no stream to judge", () => {
  const problem = observation({
    status: 404,
    headers: { "content-type": "application/problem+json" },
    errorBody: JSON.stringify({
      type: "about:blank",
      title: "Not Found",
      status: 404,
      detail: "Nothing here. The hub answers at /.well-known/mercure.",
    }),
    endedMs: 8,
    watchedMs: 3,
  })

  it("fails the response with what the server said, and skips every check of the stream", () => {
    const checks = runChecks({ observation: problem, probe: undefined, resume: undefined })
    const response = checks.find((check) => check.id === "response")
    expect(response?.verdict).toBe("fail")
    expect(response?.reason).toBe(
      '404: EventSource fails on any status but 200 and never reconnects (204 is how a server says "stop"); the server says: Nothing here. The hub answers at /.well-known/mercure.',
    )
    // Not "closed after 3 ms with no event: EventSource reconnects…", nor warnings about the error document's headers.
    for (const check of checks.filter((check) => check.id !== "response")) {
      expect(check, check.id).toMatchObject({
        verdict: "skip",
        reason: "no stream to judge: the response was 404, not 200",
        fixes: [],
      })
    }
  })

  it("quotes a page's text without its markup, and at most 300 characters", () => {
    const page = observation({
      status: 502,
      headers: { "content-type": "text/html" },
      errorBody: `<html><head><title>502</title><style>p{}</style></head><body><h1>Bad Gateway</h1>\n<p>${"x".repeat(400)}</p></body></html>`,
    })
    const reason = runChecks({ observation: page, probe: undefined, resume: undefined })[0]?.reason ?? ""
    const said = reason.split("; the server says: ")[1] ?? ""
    expect(said.startsWith("502 Bad Gateway xxx")).toBe(true)
    expect(said).toHaveLength(300)
    expect(said.endsWith("…")).toBe(true)
    const plain = observation({ status: 401, headers: {}, errorBody: "  go\n away " })
    expect(runChecks({ observation: plain, probe: undefined, resume: undefined })[0]?.reason).toMatch(
      /; the server says: go away$/,
    )
    // A Bearer challenge's reason comes first: where Mercure hubs put it, beside a terse body.
    const challenged = observation({
      status: 401,
      headers: {
        "www-authenticate":
          'Bearer realm="hub", error="invalid_token", error_description="the token has expired"',
        "content-type": "application/json",
      },
      errorBody: '{"error":"unauthorized"}',
    })
    expect(runChecks({ observation: challenged, probe: undefined, resume: undefined })[0]?.reason).toMatch(
      /; the server says: the token has expired$/,
    )
    // On a Mercure hub the doctor sends a token: the fix says how to give it one.
    const [onHub] = runChecks({ observation: challenged, probe: undefined, resume: undefined, mercure: true })
    expect(onHub?.fixes.map((fix) => `${fix.target}: ${fix.snippet}`)).toEqual([
      "doctor: pass --token <a token that may subscribe and publish on this hub>, or set HERALD_TOKEN",
    ])
    expect(runChecks({ observation: challenged, probe: undefined, resume: undefined })[0]?.fixes).toEqual([])
    // And it says where the token it sent came from, as publish and listen do, or that it sent none.
    expect(onHub?.reason).toMatch(/the token has expired; no token was sent: pass --token or HERALD_TOKEN/)
    const devToken = { subscriberTokenSource: "the dev secret in /srv/herald-data" }
    const forbidden = observation({ status: 403, headers: {}, errorBody: "" })
    for (const refused of [challenged, forbidden]) {
      const [check] = runChecks({
        observation: refused,
        probe: undefined,
        resume: undefined,
        mercure: true,
        ...devToken,
      })
      expect(check?.reason).toMatch(/; the token came from the dev secret in \/srv\/herald-data$/)
    }
    // None sent, from the directory of a dev hub whose --subscriber-jwt-key verifies subscriber
    // tokens: the dev secret gives none, so running from there is no advice.
    const [keyed] = runChecks({
      observation: challenged,
      probe: undefined,
      resume: undefined,
      mercure: true,
      subscriberTokenSource: { kind: "dev hub without subscriber tokens", dataDir: "/srv/herald-data" },
    })
    expect(keyed?.reason).toMatch(
      /; no token was sent: the dev-mode herald serve of \/srv\/herald-data gives no subscriber tokens \(its --subscriber-jwt-key verifies them, not its dev secret\): pass one signed with that key with --token or HERALD_TOKEN$/,
    )
    const empty = observation({ status: 500, headers: {}, errorBody: "" })
    expect(runChecks({ observation: empty, probe: undefined, resume: undefined })[0]?.reason).not.toContain(
      "the server says",
    )
  })
})

describe("docs", () => {
  it("docs/operations.md shows the nginx directives exactly as the nginx test runs them", () => {
    const docs = readFileSync(join(import.meta.dirname, "..", "..", "docs", "operations.md"), "utf8")
    expect(docs).toContain(NGINX_SSE_DIRECTIVES)
  })
})
