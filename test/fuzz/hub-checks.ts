// What must hold after every batch of hostile requests: the hub lives, answers /healthz, holds no
// subscriber connection, has not grown its heap, and still carries an update from a publisher to
// a subscriber. Each check throws an Error saying what broke.
import { randomUUID } from "node:crypto"
import type { FuzzHub } from "./fuzz-hub.js"
import { exchange, RawConnection, wellFormedRequest } from "./raw-http.js"

/** How long a well-formed request of the checks may take before the hub counts as wedged. */
const ANSWER_DEADLINE_MS = 5000

/** How long closed subscriber connections may take to leave the hub's connections gauge. */
const RELEASE_DEADLINE_MS = 3000

/** The heap may exceed its baseline by this much after a full GC (allocator noise, caches that settle). */
export const HEAP_TOLERANCE_BYTES = 4 * 1024 * 1024

/** Runs every check, cheapest first. */
export async function checkHub(hub: FuzzHub, heapBaseline: number): Promise<void> {
  checkAlive(hub)
  await checkHealthz(hub)
  await checkConnectionsReleased(hub)
  await checkHeap(hub, heapBaseline)
  await checkRoundTrip(hub)
}

export function checkAlive(hub: FuzzHub): void {
  if (hub.alive()) return
  const { exitCode, signalCode } = hub.process.child
  throw new Error(`the hub process exited (code ${exitCode}, signal ${signalCode})`)
}

async function checkHealthz(hub: FuzzHub): Promise<void> {
  const answer = await get(hub, "/healthz")
  if (answer.status !== 200) throw new Error(`/healthz answered ${describeEnd(answer)}`)
}

/** Open subscriber connections, from the hub's `herald_connections` gauge. */
async function openConnections(hub: FuzzHub): Promise<number> {
  const answer = await get(hub, "/metrics")
  const match = /^herald_connections (\d+)$/m.exec(answer.body.toString("utf8"))
  if (answer.status !== 200 || match === null)
    throw new Error(`/metrics answered ${describeEnd(answer)} without a herald_connections gauge`)
  return Number(match[1])
}

async function checkConnectionsReleased(hub: FuzzHub): Promise<void> {
  // Every client socket is closed by now; the hub sees the closes within a few event-loop turns.
  const started = Date.now()
  let open = await openConnections(hub)
  while (open !== 0) {
    if (Date.now() - started > RELEASE_DEADLINE_MS)
      throw new Error(
        `${open} subscriber connections still open ${RELEASE_DEADLINE_MS} ms after every client left`,
      )
    await new Promise((resolve) => setTimeout(resolve, 10))
    open = await openConnections(hub)
  }
}

async function checkHeap(hub: FuzzHub, baseline: number): Promise<void> {
  const used = await hub.heapUsed()
  if (used - baseline > HEAP_TOLERANCE_BYTES) {
    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`
    throw new Error(`the heap after a full GC is ${mb(used)}, ${mb(used - baseline)} over its baseline`)
  }
}

/** A subscriber on a fresh topic receives what a publisher then sends to it. */
export async function checkRoundTrip(hub: FuzzHub): Promise<void> {
  const topic = `https://example.com/round-trip/${randomUUID()}`
  const marker = `marker-${randomUUID()}`
  const subscriber = await RawConnection.open(hub.port)
  try {
    subscriber.write(
      wellFormedRequest("GET", `${new URL(hub.hubUrl).pathname}?match=${encodeURIComponent(topic)}`, [
        ["Authorization", `Bearer ${hub.subscriberToken}`],
      ]),
    )
    const opened = await subscriber.read(ANSWER_DEADLINE_MS)
    if (opened.status !== 200 || opened.end !== "stream")
      throw new Error(`round trip: the subscription answered ${describeEnd(opened)}`)
    const published = await exchange(
      hub.port,
      wellFormedRequest(
        "POST",
        new URL(hub.hubUrl).pathname,
        [
          ["Authorization", `Bearer ${hub.publisherToken}`],
          ["Content-Type", "application/x-www-form-urlencoded"],
        ],
        new URLSearchParams({ topic, data: marker }).toString(),
      ),
      { kind: "whole" },
      { deadlineMs: ANSWER_DEADLINE_MS },
    )
    if (published.status !== 200)
      throw new Error(`round trip: the publish answered ${describeEnd(published)}`)
    const received = await subscriber.read(ANSWER_DEADLINE_MS, (body) => body.includes(marker))
    if (!received.body.includes(marker))
      throw new Error(`round trip: the subscriber did not receive the update (${received.end})`)
  } finally {
    await subscriber.close()
  }
}

function get(hub: FuzzHub, path: string) {
  return exchange(
    hub.port,
    wellFormedRequest("GET", path),
    { kind: "whole" },
    { deadlineMs: ANSWER_DEADLINE_MS },
  )
}

/** "503 (complete)", "nothing (reset)": a status and how the answer ended, for messages. */
export function describeEnd(answer: { status: number | undefined; end: string }): string {
  return `${answer.status ?? "nothing"} (${answer.end})`
}
