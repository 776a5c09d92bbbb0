// Plays one fuzz scenario against the hub and says what happened: every request sent and what
// came back goes into `log`. A request the hub owes an answer to (whole and well framed) must get
// one, and never a 500: a 500 means a handler failed, which the fuzzer is here to find.
import { latin1, percentEncode, utf8 } from "./bytes.js"
import type { FuzzHub } from "./fuzz-hub.js"
import { describeEnd } from "./hub-checks.js"
import {
  encodeForm,
  type Param,
  type RenderedRequest,
  ROUTES,
  renderRequest,
  type Scenario,
} from "./hub-requests.js"
import { type Answer, exchange, RawConnection, wellFormedRequest } from "./raw-http.js"

/** How long a request the hub owes an answer to may wait for it before the hub counts as wedged. */
const ANSWER_DEADLINE_MS = 5000

export async function runScenario(scenario: Scenario, hub: FuzzHub, log: string[]): Promise<void> {
  switch (scenario.kind) {
    case "request": {
      const { request } = scenario
      const rendered = await renderRequest(request, hub)
      await send(hub, rendered, request.delivery, log, request.method === "HEAD")
      return
    }
    case "resume": {
      await send(hub, publishRequest(scenario, hub), { kind: "whole" }, log)
      await send(hub, resumeRequest(scenario, hub.subscriberToken), { kind: "whole" }, log)
      return
    }
    case "subscription-api": {
      const stream = await RawConnection.open(hub.port)
      try {
        const subscribe = subscribeRequest(
          [{ name: "match", value: utf8(scenario.topic), raw: false }],
          [],
          hub,
        )
        stream.write(subscribe)
        check({ bytes: subscribe, answerOwed: true }, await stream.read(ANSWER_DEADLINE_MS), log)
        await send(hub, publishRequest(scenario, hub), { kind: "whole" }, log)
        const path = [ROUTES.subscriptions, ...scenario.segments].join("/")
        const api = wellFormedRequest("GET", path, [["Authorization", `Bearer ${hub.subscriberToken}`]])
        await send(hub, { bytes: api, answerOwed: !/[\r\n]/.test(path) }, { kind: "whole" }, log)
      } finally {
        await stream.close()
      }
      return
    }
  }
}

/** A publish of an update with the scenario's id on its topic, with the dev publisher token. */
function publishRequest(
  scenario: { readonly topic: string; readonly id: string },
  hub: { readonly publisherToken: string },
): RenderedRequest {
  const body = `topic=${percentEncode(utf8(scenario.topic))}&id=${percentEncode(utf8(scenario.id))}&data=fuzz`
  const headers: [string, string][] = [
    ["Authorization", `Bearer ${hub.publisherToken}`],
    ["Content-Type", "application/x-www-form-urlencoded"],
  ]
  return { bytes: wellFormedRequest("POST", ROUTES.hub, headers, body), answerOwed: true }
}

/** The subscribe request of a resume scenario: the cursor in the header (as UTF-8 or Latin-1) or the query. */
function resumeRequest(
  scenario: Extract<Scenario, { kind: "resume" }>,
  subscriberToken: string,
): RenderedRequest {
  const query: Param[] = [
    { name: "match", value: scenario.matchAll ? "*" : utf8(scenario.topic), raw: false },
  ]
  const headers: [string, string][] = []
  const id = utf8(scenario.id)
  if (scenario.resumeBy === "header") headers.push(["Last-Event-ID", id])
  if (scenario.resumeBy === "header-latin1") headers.push(["Last-Event-ID", latin1(scenario.id)])
  if (scenario.resumeBy === "query") query.push({ name: "last_event_id", value: id, raw: false })
  if (scenario.resumeBy === "legacy-query") query.push({ name: "lastEventID", value: id, raw: false })
  return {
    bytes: subscribeRequest(query, headers, { subscriberToken }),
    // A CR or LF in the header would end it early: the rest is another header, or the body.
    answerOwed: !headers.flat().some((part) => /[\r\n]/.test(part)),
  }
}

function subscribeRequest(
  query: readonly Param[],
  headers: readonly (readonly [string, string])[],
  hub: { readonly subscriberToken: string },
): Buffer {
  return wellFormedRequest("GET", `${ROUTES.hub}?${encodeForm(query)}`, [
    ["Authorization", `Bearer ${hub.subscriberToken}`],
    ...headers,
  ])
}

async function send(
  hub: FuzzHub,
  rendered: RenderedRequest,
  delivery: Parameters<typeof exchange>[2],
  log: string[],
  headRequest = false,
): Promise<void> {
  // A request owed nothing (broken framing, aborted) is read for one turn of the event loop at most.
  const deadlineMs = rendered.answerOwed ? ANSWER_DEADLINE_MS : 0
  check(rendered, await exchange(hub.port, rendered.bytes, delivery, { deadlineMs, headRequest }), log)
}

/** Logs the exchange, and throws when the hub owed an answer and gave none, or failed with a 500. */
function check(rendered: RenderedRequest, answer: Answer, log: string[]): void {
  log.push(`${summarize(rendered.bytes)}\n    → ${describeEnd(answer)}`)
  if (answer.status === 500)
    throw new Error(`the hub answered 500 (a handler failed): ${answer.body.toString("utf8")}`)
  if (!rendered.answerOwed) return
  if (answer.end === "timeout")
    throw new Error(`no answer within ${ANSWER_DEADLINE_MS} ms to a whole request`)
  if (answer.status === undefined)
    throw new Error(`the hub closed the connection without an answer (${answer.end})`)
}

/** The start of a request as a JSON string (its bytes as Latin-1 characters), for the log. */
function summarize(bytes: Buffer): string {
  const text = JSON.stringify(bytes.subarray(0, 400).toString("latin1"))
  return bytes.length > 400 ? `${text} … (${bytes.length} bytes)` : text
}
