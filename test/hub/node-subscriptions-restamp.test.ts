// What re-stamping a node's unchanged snapshot costs, and that the cursor given out is held.
import { randomBytes } from "node:crypto"
import { afterEach, expect, it } from "vitest"
import type { Engine } from "../../src/engine/engine.js"
import { createMemoryEngine } from "../../src/engine/memory.js"
import { holdNodeLease } from "../../src/engine/node-lease.js"
import { nodeLogPrefix } from "../../src/hub/node-subscriptions.js"
import { openUpdateLog } from "../../src/hub/update-log.js"
import { openStream, recordingLogger } from "../server/helpers.js"
import { publish, startHub, subscribeUrl, type TestHub, token } from "./hub-helpers.js"

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function node(engine: Engine, log: string, id: string, leaseMs: number): Promise<TestHub> {
  const lease = holdNodeLease(engine, id, leaseMs, { logger: recordingLogger() })
  const hub = await startHub({ engine, log, node: lease, subscriptions: true })
  cleanups.push(async () => {
    await hub.close()
    await lease.release()
  })
  return hub
}

/** Counts the appends to each node's logs, and the bytes they carry. */
function countNodeWrites(engine: Engine, log: string): Map<string, { writes: number; bytes: number }> {
  const counts = new Map<string, { writes: number; bytes: number }>()
  const append = engine.append.bind(engine)
  engine.append = (name, batch, options) => {
    if (name.startsWith(nodeLogPrefix(log)) && batch.length > 0) {
      const count = counts.get(name) ?? { writes: 0, bytes: 0 }
      count.writes++
      for (const entry of batch) count.bytes += entry.data.length + (entry.key?.length ?? 0)
      counts.set(name, count)
    }
    return append(name, batch, options)
  }
  return counts
}

async function cursorOf(hub: TestHub): Promise<string | undefined> {
  const bearer = await token(hub.hubUrl, {
    subscribe: [{ match: "/.well-known/mercure/subscriptions{/*}?", match_type: "urlpattern" }],
  })
  const response = await fetch(`${hub.hubUrl}/subscriptions`, {
    headers: { authorization: `Bearer ${bearer}` },
  })
  await response.arrayBuffer()
  return /last-event-id="([^"]*)"/.exec(response.headers.get("link") ?? "")?.[1]
}

/** 20 connections x 50 exact matchers: 1000 subscriptions that do not change. */
async function subscribeMany(hub: TestHub): Promise<void> {
  for (let c = 0; c < 20; c++) {
    const stream = await openStream(
      subscribeUrl(
        hub.hubUrl,
        Array.from({ length: 50 }, (_, m): [string, string] => ["match", `https://example.com/c${c}/m${m}`]),
      ),
      { authorization: `Bearer ${await token(hub.hubUrl, { subscribe: ["*"] })}` },
    )
    expect(stream.status).toBe(200)
    cleanups.push(async () => stream.close())
  }
}

/** One publish every 100 ms, `count` times. */
async function publishSlowly(hub: TestHub, count: number): Promise<void> {
  const bearer = await token(hub.hubUrl, { publish: ["*"] })
  for (let i = 0; i < count; i++) {
    await publish(hub.hubUrl, { topic: "https://example.com/t", data: "x", id: `u${i}` }, bearer)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

it("a node whose subscriptions do not change writes no snapshot again, only a small re-stamp the others read", async () => {
  const engine = createMemoryEngine()
  cleanups.push(() => engine.close())
  const log = `hub-${randomBytes(3).toString("hex")}`
  const counts = countNodeWrites(engine, log)
  const a = await node(engine, log, "node-a", 600)
  const b = await node(engine, log, "node-b", 600)
  await subscribeMany(a)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  counts.clear()
  // No subscription changes from here: a's snapshot stays as it is, its stamp moves on.
  await publishSlowly(a, 15)
  const snapshotLog = `${nodeLogPrefix(log)}node-a`
  expect(counts.get(snapshotLog)).toBeUndefined()
  const restamps = counts.get(`${snapshotLog} stamp`)
  expect(restamps?.writes).toBeGreaterThan(0)
  expect(restamps?.bytes ?? 0).toBeLessThan(100 * (restamps?.writes ?? 0))
  // b lists a's 1000 subscriptions with a cursor past a's last snapshot (u0 was published after it).
  const cursor = await cursorOf(b)
  expect(cursor).toMatch(/^u\d+$/)
  expect(Number(cursor?.slice(1))).toBeGreaterThan(5)
  // The companion log is no node's: not listed, and deleted with its node's log.
  await a.close()
  expect(await engine.head(`${snapshotLog} stamp`)).toBeUndefined()
})

it("a node alone writes no re-stamp: nobody reads it", async () => {
  const engine = createMemoryEngine()
  cleanups.push(() => engine.close())
  const log = `hub-${randomBytes(3).toString("hex")}`
  const counts = countNodeWrites(engine, log)
  const a = await node(engine, log, "node-a", 600)
  await subscribeMany(a)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  counts.clear()
  await publishSlowly(a, 15)
  expect([...counts.keys()]).toEqual([])
  expect(await cursorOf(a)).toBe("u14")
})

it("on a busy hub with short retention, the API's cursor is one the hub log holds", async () => {
  // Two nodes; the hub log keeps 50 updates; leases of 3 s (re-stamps every 1 s).
  const engine = createMemoryEngine({ retention: { maxEntries: 50 } })
  cleanups.push(() => engine.close())
  const log = `hub-${randomBytes(3).toString("hex")}`
  const a = await node(engine, log, "node-a", 3000)
  await node(engine, log, "node-b", 3000)
  await new Promise((resolve) => setTimeout(resolve, 500))
  const bearer = await token(a.hubUrl, { publish: ["*"] })
  // 300 updates in well under a re-stamp: b's stamp falls out of the log.
  for (let i = 0; i < 300; i += 10) {
    await Promise.all(
      Array.from({ length: 10 }, (_, j) =>
        publish(a.hubUrl, { topic: "https://example.com/t", data: "x", id: `u${i + j}` }, bearer),
      ),
    )
  }
  const cursor = await cursorOf(a)
  expect(cursor).toBeDefined()
  expect(
    await openUpdateLog(engine, log).locate(cursor as string),
    `the cursor ${cursor} is held`,
  ).toBeDefined()
  // What draft-08's client does next: the subscription events from the cursor, not an error.
  const stream = await openStream(
    subscribeUrl(a.hubUrl, [
      ["match_urlpattern", "/.well-known/mercure/subscriptions{/*}?"],
      ["last_event_id", cursor as string],
    ]),
    {
      authorization: `Bearer ${await token(a.hubUrl, {
        subscribe: [{ match: "/.well-known/mercure/subscriptions{/*}?", match_type: "urlpattern" }],
      })}`,
    },
  )
  cleanups.push(async () => stream.close())
  const [first] = await stream.waitForEvents(1)
  expect(first?.type).toBe("mercure")
  expect(JSON.stringify(first)).not.toContain("too-old")
})
