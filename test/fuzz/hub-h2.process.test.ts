// Randomized HTTP/2 requests against `herald serve --tls-cert --tls-key`: every route, odd
// methods and headers, bodies cut short or oversize, streams reset mid-body, connections
// destroyed mid-stream. Afterwards the hub must be alive, healthy, hold no connection, and still
// deliver a publish to a subscriber. HERALD_FUZZ_SEED=<n> replays a run.

import type { ClientHttp2Session, OutgoingHttpHeaders } from "node:http2"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { useCliProcesses } from "../cli/cli-helpers.js"
import {
  connectH2,
  h2Publish,
  h2Request,
  h2Subscribe,
  hasOpenssl,
  startTlsHub,
  untilConnections,
} from "../cli/tls-helpers.js"
import { waitUntil } from "../server/helpers.js"

useCliProcesses()

const SEED = process.env.HERALD_FUZZ_SEED === undefined ? Date.now() : Number(process.env.HERALD_FUZZ_SEED)
const RUNS = 150
const HUB = "/.well-known/mercure"
const TOPIC = "https://example.com/books/1"

const paths = fc.constantFrom(
  HUB,
  `${HUB}?topic=${encodeURIComponent(TOPIC)}`,
  `${HUB}?match=${encodeURIComponent("https://example.com/{id}")}&lastEventID=earliest`,
  `${HUB}/subscriptions`,
  `${HUB}/subscriptions/x/y`,
  "/herald/v1/publish",
  "/healthz",
  "/readyz",
  "/metrics",
  "/.well-known/oauth-protected-resource",
  "/nope",
  "//",
  "/%ff%fe",
)
const methods = fc.constantFrom("GET", "POST", "QUERY", "OPTIONS", "DELETE", "PUT", "PATCH", "HEAD", "BREW")
const oddValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom("中1", "é", "earliest", "\u0000x", "a".repeat(5000), "Bearer x.y.z"),
)
const headers = fc.dictionary(
  fc.constantFrom(
    "content-type",
    "last-event-id",
    "authorization",
    "cookie",
    "origin",
    "accept",
    "x-forwarded-for",
    "content-length",
    "te",
  ),
  oddValue,
  { maxKeys: 4 },
)
const contentTypes = fc.constantFrom(
  "application/x-www-form-urlencoded",
  "application/json",
  "application/x-ndjson",
  "text/plain",
)
const body = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 200 }),
  fc.constant(`topic=${encodeURIComponent(TOPIC)}&data=fuzz`),
  fc.constant('{"topic":"x","data":"y"}\n'.repeat(50)),
  fc.constant("x".repeat(1024 * 1024 + 10)),
)
/** What happens to the stream or its connection after the request went out. */
const ending = fc.constantFrom("answer", "reset-early", "reset-late", "destroy-session")

const scenario = fc.record({ method: methods, path: paths, headers, contentType: contentTypes, body, ending })
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never

/** Sends one scenario; never throws: the hub's side is what is judged. */
async function play(session: ClientHttp2Session, run: Scenario): Promise<void> {
  const request: OutgoingHttpHeaders = {
    ":method": run.method,
    ":path": run.path,
    "content-type": run.contentType,
  }
  for (const [name, value] of Object.entries(run.headers)) request[name] = value
  let stream: ReturnType<ClientHttp2Session["request"]>
  try {
    stream = session.request(request, { endStream: run.body === undefined })
  } catch {
    return // headers Node's client itself refuses to send
  }
  stream.on("error", () => undefined)
  if (run.body !== undefined) {
    if (run.ending === "reset-early") stream.write(run.body.slice(0, run.body.length / 2))
    else stream.end(run.body)
  }
  if (run.ending === "reset-early") {
    stream.close()
    return
  }
  if (run.ending === "destroy-session") {
    session.destroy()
    return
  }
  // Answered (a head came) or cut (the stream closed): either way the hub dealt with it. The rest
  // of an answer is left to flow; an unsent body keeps the client's stream open, not the hub's.
  await new Promise<void>((resolve) => {
    stream.once("response", (head) => {
      resolve()
      // Closed on the next turn: closing from inside 'response', with DATA still buffered,
      // aborts Node 20's http2 ("Assertion failed: onread->IsFunction()", nodejs/node#64850).
      if (run.ending === "reset-late" || String(head["content-type"]).startsWith("text/event-stream"))
        setImmediate(() => stream.close())
      else stream.resume()
    })
    stream.once("close", () => resolve())
  })
}

/** A request the hub neither answers nor cuts within this long is a finding (a wedged request). */
const ANSWER_MS = 3000

async function answeredWithin(played: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  await Promise.race([played, expired]).finally(() => clearTimeout(timer))
}

describe.skipIf(!hasOpenssl())("fuzzing herald serve over HTTP/2", () => {
  it("survives randomized h2 requests, resets and dropped connections with nothing left open", async () => {
    console.log(`hub-h2 fuzz seed ${SEED} (replay with HERALD_FUZZ_SEED=${SEED})`)
    const { hub, certificate, origin } = await startTlsHub(["--body-idle-timeout", "2s"])
    let session = await connectH2(origin, certificate.ca)
    await fc.assert(
      fc.asyncProperty(scenario, async (run) => {
        // Each run starts on a fresh turn of the event loop: the last run may have ended in a
        // callback nghttp2 makes while frames are still buffered, and closing or destroying from
        // there aborts Node 20's http2 ("Assertion failed: onread->IsFunction()", nodejs/node#64850).
        await new Promise((resolve) => setImmediate(resolve))
        if (session.destroyed || session.closed) session = await connectH2(origin, certificate.ca)
        await answeredWithin(play(session, run), ANSWER_MS)
        expect(hub.child.exitCode).toBeNull()
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    )
    session.destroy()

    expect(hub.child.exitCode).toBeNull()
    const probe = await connectH2(origin, certificate.ca)
    expect((await h2Request(probe, { ":path": "/healthz" })).status).toBe(200)
    await untilConnections(probe, 0, 10_000)
    const subscription = h2Subscribe(probe, `${HUB}?topic=${encodeURIComponent(TOPIC)}`)
    expect((await subscription.response)[":status"]).toBe(200)
    expect((await h2Publish(probe, HUB, TOPIC, "after the fuzz")).status).toBe(200)
    await waitUntil(
      () => subscription.events.some((event) => event.data === "after the fuzz"),
      () => undefined,
    )
    probe.close()
    expect(hub.stdout()).not.toMatch(/uncaughtException|unhandledRejection/)
    hub.child.kill("SIGTERM")
    // The hub's last words say why it did not stop cleanly (a shutdown that took too long, an error).
    expect(await hub.exited, hub.stdout().slice(-2000)).toBe(0)
  }, 30_000)
})
