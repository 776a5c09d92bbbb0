// Failover: three hub nodes on one Redis; SUBSCRIBERS subscribers on node c; node a publishes
// RATE events/s throughout. Node c is killed with SIGKILL mid-stream; each of its subscribers
// subscribes again at once on a survivor (a or b, in turn) with its Last-Event-ID
// (resuming-client.js). Measured: the time from the kill to the last subscriber caught up —
// holding every event published before it asked the survivor — and that every subscriber ends
// with every event exactly once, in order.
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { HUB_SUBSCRIBE_PATH, startChild } from "../server/harness.js"
import { percentile } from "../stats.js"
import { deleteKeys } from "./redis-server.js"

const here = dirname(fileURLToPath(import.meta.url))
const SUBSCRIBERS = 1000
const RATE = 50
const KILL_AFTER_MS = 2000
const PUBLISH_MS = 6000
const nowMicros = () => Number(process.hrtime.bigint() / 1000n)
let cells = 0

/** One failover on the Redis at `url`: times in ms from the kill, and the delivery tallies. */
export async function measureFailover(url) {
  const prefix = `herald-bench-failover-${process.pid}-${++cells}`
  const env = { ...process.env, HERALD_BENCH_REDIS_URL: url, HERALD_BENCH_REDIS_PREFIX: prefix }
  const nodes = await Promise.all(
    ["a", "b", "c"].map((tag) => startChild("server.js", ["hub-redis", tag], { env })),
  )
  const [publisher, survivor, victim] = nodes
  const client = await startChild(join(here, "resuming-client.js"), [])
  try {
    const { opened } = await client.request("connect", {
      port: victim.ready.port,
      n: SUBSCRIBERS,
      subscribePath: HUB_SUBSCRIBE_PATH,
    })
    if (opened !== SUBSCRIBERS)
      throw new Error(`failover: only ${opened} of ${SUBSCRIBERS} subscribers connected`)
    await client.request("arm", { ports: [publisher.ready.port, survivor.ready.port] })
    const publishing = publisher.request("paced", { rate: RATE, durationMs: PUBLISH_MS })
    await new Promise((resolve) => setTimeout(resolve, KILL_AFTER_MS))
    const killedAt = nowMicros()
    await victim.kill()
    // A publish that failed (Redis did not answer in time) may or may not have been stored:
    // its sequence may be missing; every other must arrive, once.
    const { sent, failed } = await publishing
    const failedSet = new Set(failed)
    let lastStored = sent
    while (failedSet.has(lastStored)) lastStored--
    const { subscribers } = await client.request("wait", { lastSequence: lastStored, timeoutMs: 30_000 })

    const sinceKill = (values) => values.map((at) => (at - killedAt) / 1000)
    const caughtUp = sinceKill(subscribers.map((s) => s.caughtUpAt ?? Number.NaN))
    const detected = sinceKill(subscribers.map((s) => s.closedAt ?? Number.NaN))
    const resubscribed = sinceKill(subscribers.map((s) => s.resubscribedAt ?? Number.NaN))
    const counts = await Promise.all([publisher, survivor].map((node) => node.request("count")))
    const missing = (s) => s.missing.filter((sequence) => !failedSet.has(sequence)).length
    const sum = (count) => subscribers.reduce((total, s) => total + count(s), 0)
    return {
      rate: RATE,
      published: sent,
      publishesFailed: failed.length,
      subscribers: subscribers.length,
      // Exactly once, in order, to the end.
      complete: subscribers.filter(
        (s) => s.lastSeq >= lastStored && missing(s) === 0 && s.duplicates === 0 && s.unexpected === 0,
      ).length,
      duplicates: sum((s) => s.duplicates),
      missing: sum(missing),
      unexpected: sum((s) => s.unexpected),
      resubscribed: subscribers.filter((s) => s.resubscribedAt !== undefined).length,
      failedAttempts: sum((s) => s.failedAttempts),
      survivorsHold: counts.map((reply) => reply.count),
      detectedMaxMs: Math.max(...detected),
      resubscribedP50Ms: percentile(resubscribed, 50),
      resubscribedMaxMs: Math.max(...resubscribed),
      caughtUpP50Ms: percentile(caughtUp, 50),
      caughtUpMaxMs: Math.max(...caughtUp),
      /** The most events one subscriber was given from the history on a survivor. */
      replayedMax: Math.max(...subscribers.map((s) => s.replayed)),
    }
  } finally {
    await client.stop()
    await Promise.all(nodes.map((node) => node.stop()))
    await deleteKeys(url, prefix)
  }
}
